"""Worker and CLI defects and the worker budgets (docs/security.md), with real worker processes where the
defect lives in them: the per-draft lock after a failed download, jobs handed to a retiring
worker, the memory ceiling, a 16384² canvas, CANCELLED after an earlier attempt, trimmed
draft_url idempotency, and the CLI's one-line errors."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from compositor.cli import main as cli_main
from fixtures.media import make_video
from server.app import create_app
from server.jobs.model import NewJob, RenderSpec
from server.jobs.sqlite import SqliteJobStore
from server.routes_native import job_view
from server.settings import Settings
from server.state import POOL
from server.storage import LocalStorage
from server.worker import read_rss_bytes
from tests.draft_helpers import minimal_draft, segment, track, video_material
from tests.server_fixtures import TEST_DEFAULTS, clip_path, draft_host, make_client, new_draft_id  # noqa: F401
from tests.server_helpers import free_port, tiny_draft

module_loop = pytest.mark.asyncio(loop_scope="module")

CM = "/openapi/capcut-mate/v1"
#: generous: a worker importing Numba on a busy machine must not lose its lease in these tests
WORKER_DEFAULTS = dict(concurrency=1, lease_s=30.0, submit_check="off", job_timeout_s=90.0)


async def start_app(tmp_path_factory, **overrides) -> TestClient:
    port = free_port()
    settings = Settings(
        **{
            **TEST_DEFAULTS,
            **WORKER_DEFAULTS,
            "port": port,
            "data_dir": str(tmp_path_factory.mktemp("data")),
            **overrides,
        }
    )
    client = TestClient(TestServer(create_app(settings), host="127.0.0.1", port=port))
    await client.start_server()
    return client


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client(tmp_path_factory):
    c = await start_app(tmp_path_factory)
    yield c
    await c.close()


async def wait_job(client, job_id, timeout=90.0):
    deadline = time.monotonic() + timeout
    job = None
    while time.monotonic() < deadline:
        job = await (await client.get(f"/v1/renders/{job_id}")).json()
        if job["state"] in ("completed", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")


async def submit(client, url: str) -> str:
    resp = await client.post("/v1/renders", json={"draft_url": url, "output": {"preset": "ultrafast"}})
    assert resp.status == 202, await resp.text()
    return (await resp.json())["id"]


def add_tiny(draft_host, clip_path, did=None, **kw):
    did = did or new_draft_id()
    return did, draft_host.add_content(did, tiny_draft(did, seconds=0.2, **kw), {"assets/videos/clip.mp4": clip_path})


# -- (a) the per-draft lock is released when the download fails ------------------------------------


@module_loop
async def test_failed_download_releases_the_draft_lock(client, draft_host, clip_path):
    did, url = add_tiny(draft_host, clip_path)
    draft_host.code_override[did] = 2001  # get_draft: unknown draft → the download fails
    first = await wait_job(client, await submit(client, url))
    assert first["state"] == "failed" and first["error"]["code"] == "DRAFT_NOT_FOUND"
    del draft_host.code_override[did]
    second = await wait_job(client, await submit(client, url))  # the same draft id, the same worker
    assert second["state"] == "completed", second["error"]


# -- the memory ceiling -----------------------------------------------------------------------------


@module_loop
async def test_worker_over_the_memory_ceiling_fails_the_job_and_is_replaced(client, draft_host, clip_path):
    pool = client.app[POOL]
    doomed = pool.slots[0].proc.pid
    pool.rss_reader = lambda pid: (1 << 40) if pid == doomed else read_rss_bytes(pid)
    try:
        _, url = add_tiny(draft_host, clip_path)
        job = await wait_job(client, await submit(client, url))
        assert job["state"] == "failed" and job["error"]["code"] == "LIMIT_EXCEEDED" and job["attempts"] == 1
        assert job["error"]["context"]["limit"] == "worker_memory_mb"
        assert "--worker-memory-mb" in job["error"]["details"]
        _, url = add_tiny(draft_host, clip_path)
        job = await wait_job(client, await submit(client, url))
        assert job["state"] == "completed" and pool.slots[0].proc.pid != doomed
    finally:
        pool.rss_reader = read_rss_bytes


# -- (f) a 16384² canvas is a clear LIMIT_EXCEEDED from the worker -----------------------------------


@module_loop
async def test_huge_canvas_fails_with_limit_exceeded(client, draft_host, clip_path):
    _, url = add_tiny(draft_host, clip_path, width=16384, height=16384)
    job = await wait_job(client, await submit(client, url))
    assert job["state"] == "failed" and job["error"]["code"] == "LIMIT_EXCEEDED"
    assert job["error"]["context"]["limit"] == "max_side_px" and "16384" in job["error"]["details"]
    assert "--max-side-px / DRAFT_SERVER_MAX_SIDE_PX" in job["error"]["details"]


# -- (b) no job is handed to a worker that is retiring -------------------------------------------------


@module_loop
async def test_worker_max_tasks_1_loses_no_attempt(tmp_path_factory, draft_host, clip_path):
    c = await start_app(tmp_path_factory, worker_max_tasks=1)
    try:
        # the second job is claimed while the first one's worker retires: it must go to a fresh one
        ids = [await submit(c, add_tiny(draft_host, clip_path)[1]) for _ in range(2)]
        jobs = [await wait_job(c, job_id) for job_id in ids]
        assert [(j["state"], j["attempts"]) for j in jobs] == [("completed", 1)] * 2, [j["error"] for j in jobs]
    finally:
        await c.close()


# -- (c) a cancelled job reports CANCELLED, not an earlier attempt's error ------------------------------


@pytest.mark.asyncio
async def test_cancel_after_a_failed_attempt_reports_cancelled(tmp_path):
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    await store.open()
    try:
        storage = LocalStorage(tmp_path, "http://127.0.0.1:1")
        spec = RenderSpec(crf=23, preset="ultrafast")
        for running in (False, True):
            job = (
                await store.submit(
                    NewJob(
                        kind="native",
                        spec=spec,
                        draft_url="http://127.0.0.1:9/x?draft_id=a",
                        draft_id="a",
                        max_attempts=3,
                    )
                )
            ).job
            await store.claim("w", 30.0)
            await store.fail(
                job.id, "w", "RENDER_FAILED", "the worker process died", {"reason": "worker_died"}, retry=True
            )
            assert (await store.get(job.id)).error_code == "RENDER_FAILED"  # queued again, last error kept
            if running:
                await store.claim("w", 30.0)
                await store.cancel(job.id)  # cancel_requested
                final = await store.finish_cancelled(job.id, "w")
            else:
                final = await store.cancel(job.id)
            assert final.state == "cancelled" and final.error_code is None
            assert job_view(final, storage).error.code == "CANCELLED"
    finally:
        await store.close()


# -- (d) draft_url is trimmed before the idempotency key -----------------------------------------------


@pytest.mark.asyncio
async def test_gen_video_trims_draft_url_before_idempotency(make_client):
    c = await make_client(submit_check="off")
    url = f"http://127.0.0.1:9/openapi/capcut-mate/v1/get_draft?draft_id={new_draft_id()}"
    a = await (await c.post(f"{CM}/gen_video", json={"draft_url": url})).json()
    b = await (await c.post(f"{CM}/gen_video", json={"draft_url": f"  {url} \n"})).json()
    assert a["code"] == 0 and a["task_id"] == b["task_id"] and b["draft_url"] == url
    st = await (await c.post(f"{CM}/gen_video_status", json={"draft_url": url + " "})).json()
    assert st["task_id"] == a["task_id"]


# -- (e) the CLI: one line per failure, a traceback only with --debug -----------------------------------


def _clip_draft(folder, clip):
    seg = segment("s1", "m1", 0, 200_000)
    obj = minimal_draft(
        width=64,
        height=36,
        videos=[{**video_material("m1", 64, 36, 200_000), "path": "clip.mp4"}],
        tracks=[track("t1", "video", [seg])],
    )
    make_video(folder / "clip.mp4", w=64, h=36, dur_s=0.2, color=(200, 40, 40))
    return obj


def _write(folder, obj, **scale):
    raw = json.dumps(obj)
    for value in scale.values():
        raw = raw.replace('"scale": {"x": 1.0, "y": 1.0}', f'"scale": {{"x": {value}, "y": {value}}}')
    (folder / "draft_content.json").write_text(raw)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error "), err
    return lines[0]


def test_cli_non_finite_transforms_are_draft_invalid(tmp_path, capsys):
    obj = _clip_draft(tmp_path, None)
    for value in ('"nan"', '"inf"', "1e999"):
        _write(tmp_path, obj, scale=value)
        assert cli_main(["render", str(tmp_path), "-o", str(tmp_path / "out.mp4"), "--quiet"]) == 1
        line = _one_error_line(capsys)
        assert line.startswith("error DRAFT_INVALID:") and "$.tracks[0].segments[0].clip.scale.x" in line


def test_cli_huge_finite_transforms_never_print_a_traceback(tmp_path, capsys):
    _write(tmp_path, _clip_draft(tmp_path, None), scale="1e308")
    code = cli_main(["render", str(tmp_path), "-o", str(tmp_path / "out.mp4"), "--quiet"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code == 0 or [ln for ln in err.splitlines() if ln.startswith("error ")] == err.strip().splitlines()


def test_cli_memory_error_inside_a_library_is_one_line(tmp_path, capsys, monkeypatch):
    _write(tmp_path, _clip_draft(tmp_path, None))

    def exhausted(*args, **kwargs):
        raise MemoryError("av.VideoFrame could not allocate 68719476736 bytes")

    monkeypatch.setattr("compositor.cli.open_draft", exhausted)
    assert cli_main(["render", str(tmp_path), "-o", str(tmp_path / "out.mp4")]) == 1
    assert (
        _one_error_line(capsys)
        == "error RENDER_FAILED: MemoryError: av.VideoFrame could not allocate 68719476736 bytes"
    )
    assert cli_main(["render", str(tmp_path), "-o", str(tmp_path / "out.mp4"), "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("error RENDER_FAILED: MemoryError")
