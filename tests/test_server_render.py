"""The service with real worker processes and real (small) renders: the gen_video cycle, content-hash
idempotency, served files (Range, poster), SSE, cancel, webhooks (signature, retry), failure
codes on jobs, the material-path rule, a SIGKILLed worker, and the seed's polling client."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import os
import re
import signal
import time

import av
import pytest
import pytest_asyncio
import requests
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.settings import Settings
from server.state import POOL, SETTINGS, STORE
from tests.server_fixtures import TEST_DEFAULTS, clip_path, draft_host, new_draft_id  # noqa: F401 - fixtures
from tests.server_helpers import empty_draft, free_port, tiny_draft

pytestmark = pytest.mark.asyncio(loop_scope="module")

CM = "/openapi/capcut-mate/v1"
SECRET = "s3cret"


async def start_app(tmp_path_factory, **overrides) -> TestClient:
    port = free_port()
    settings = Settings(
        **{
            **TEST_DEFAULTS,
            "port": port,
            "concurrency": 1,
            "webhook_secret": SECRET,
            "webhook_retries": 3,
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


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def unchecked(tmp_path_factory):
    """An app that does not check drafts at submission: failures surface on the job."""
    c = await start_app(tmp_path_factory, submit_check="off")
    yield c
    await c.close()


def add_tiny(draft_host, clip_path, **kw):
    did = new_draft_id()
    url = draft_host.add_content(did, tiny_draft(did, **kw), {"assets/videos/clip.mp4": clip_path})
    return did, url


async def wait_job(client, job_id, timeout=60.0, until=lambda j: j["state"] in ("completed", "failed", "cancelled")):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = await (await client.get(f"/v1/renders/{job_id}")).json()
        if until(job):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not get there: {job}")


async def sse_events(client, job_id, timeout=60.0):
    resp = await client.get(f"/v1/renders/{job_id}/events")
    events = []
    async with asyncio.timeout(timeout):
        while True:
            block = await resp.content.readuntil(b"\n\n")
            text = block.decode()
            if text.startswith(":"):
                continue
            name = re.search(r"^event: (\S+)", text, re.M).group(1)
            data = json.loads(re.search(r"^data: (.*)$", text, re.M).group(1))
            events.append((name, data))
            if name != "progress":
                return events


# -- gen_video, end to end ------------------------------------------------------------------------


async def test_gen_video_cycle(client, draft_host, clip_path):
    did, url = add_tiny(draft_host, clip_path, seconds=1.0)
    sub = await (await client.post(f"{CM}/gen_video", json={"draft_url": url})).json()
    assert sub["code"] == 0 and sub["status"] in ("pending", "processing")
    progress = []
    for _ in range(600):
        st = await (await client.post(f"{CM}/gen_video_status", json={"draft_url": url})).json()
        progress.append(st["progress"])
        if st["status"] in ("completed", "failed"):
            break
        await asyncio.sleep(0.02)
    assert st["status"] == "completed", st
    assert st["progress"] == 100 and progress == sorted(progress)
    assert st["error_message"] == "" and st["error_code"] == "" and st["phase"] == "completed"
    assert st["started_at"] and st["completed_at"] and st["eta_s"] is None
    base = str(client.make_url("")).rstrip("/")
    assert re.fullmatch(
        re.escape(f"{base}/v1/renders/{sub['task_id']}/video.mp4") + r"\?expires=\d+&sig=[0-9a-f]{64}", st["video_url"]
    )

    # the video: whole and by range
    resp = await client.get(f"/v1/renders/{sub['task_id']}/video.mp4")
    body = await resp.read()
    assert resp.status == 200 and resp.headers["Content-Type"] == "video/mp4"
    with av.open(io.BytesIO(body)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 30 and (frames[0].width, frames[0].height) == (160, 90)
    resp = await client.get(f"/v1/renders/{sub['task_id']}/video.mp4", headers={"Range": "bytes=0-99"})
    assert resp.status == 206 and resp.headers["Content-Range"] == f"bytes 0-99/{len(body)}"
    assert await resp.read() == body[:100]
    poster = await client.get(f"/v1/renders/{sub['task_id']}/poster.jpg")
    assert poster.status == 200 and (await poster.read())[:3] == b"\xff\xd8\xff"

    # the same draft_url again: the finished job, no re-render
    again = await (await client.post(f"{CM}/gen_video", json={"draft_url": url})).json()
    assert again["task_id"] == sub["task_id"] and again["status"] == "completed"
    assert again["video_url"] == st["video_url"] and again["progress"] == 100

    # the draft host cannot answer now: the finished video stands
    draft_host.status_override[did] = 503
    try:
        again = await (await client.post(f"{CM}/gen_video", json={"draft_url": url})).json()
    finally:
        del draft_host.status_override[did]
    assert again["task_id"] == sub["task_id"] and again["status"] == "completed"

    # terminal lookup by draft_id from another URL string
    other = await (
        await client.post(f"{CM}/gen_video_status", json={"draft_url": f"https://other/x?draft_id={did}"})
    ).json()
    assert other["task_id"] == sub["task_id"]

    # a changed draft renders again
    changed = tiny_draft(did, seconds=2.0)
    draft_host.set_content(did, changed)
    new = await (await client.post(f"{CM}/gen_video", json={"draft_url": url})).json()
    assert new["task_id"] != sub["task_id"] and new["status"] in ("pending", "processing")
    job = await wait_job(client, new["task_id"])
    assert job["state"] == "completed" and job["result"]["frames"] == 60


async def test_native_render_with_sse_progress(client, draft_host, clip_path):
    _, url = add_tiny(draft_host, clip_path, seconds=4.0, width=320, height=180)
    job = await (
        await client.post("/v1/renders", json={"draft_url": url, "output": {"width": 256, "fps": 25, "crf": 30}})
    ).json()
    events = await sse_events(client, job["id"])
    names = [e[0] for e in events]
    assert names[-1] == "completed" and set(names[:-1]) == {"progress"}
    done = [d["frames_done"] for _, d in events]
    assert done == sorted(done)
    assert any(d["phase"] == "rendering" for _, d in events[:-1])
    final = events[-1][1]
    assert final["progress"] == 100 and final["frames_done"] == final["frames_total"] == 100
    assert final["result"]["width"] == 256 and final["result"]["fps"] == "25/1"
    assert final["result"]["duration_s"] == pytest.approx(4.0)
    assert final["video_url"] and final["poster_url"] and final["result"]["size_bytes"] > 0


async def test_cancel_a_running_render_stops_within_a_second(client, draft_host, clip_path):
    _, url = add_tiny(draft_host, clip_path, seconds=20.0, width=640, height=360)
    job = await (await client.post("/v1/renders", json={"draft_url": url})).json()
    await wait_job(client, job["id"], until=lambda j: j["frames_done"] > 0)
    t0 = time.monotonic()
    resp = await client.delete(f"/v1/renders/{job['id']}")
    body = await resp.json()
    elapsed = time.monotonic() - t0
    assert resp.status == 200 and body["state"] == "cancelled", body
    assert elapsed < 1.0, elapsed
    assert body["frames_done"] < body["frames_total"]
    assert (await client.delete(f"/v1/renders/{job['id']}")).status == 200
    # the worker is fine afterwards
    _, url2 = add_tiny(draft_host, clip_path)
    nxt = await (await client.post("/v1/renders", json={"draft_url": url2})).json()
    assert (await wait_job(client, nxt["id"]))["state"] == "completed"
    resp = await client.delete(f"/v1/renders/{nxt['id']}")
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "JOB_FINISHED"


# -- webhooks -------------------------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def receiver():
    calls: list[dict] = []
    plan = {"fail_first": 0}

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        calls.append({"headers": dict(request.headers), "body": body, "path": request.path})
        n = sum(1 for c in calls if c["path"] == request.path)
        if request.path == "/always-500" or n <= plan["fail_first"]:
            return web.Response(status=500)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/{name}", hook)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    yield server, calls, plan
    await server.close()


async def test_webhook_is_signed_and_retried(client, receiver, draft_host, clip_path):
    server, calls, plan = receiver
    plan["fail_first"] = 2
    clip_url = f"{draft_host.base}/output/draft/clipsrc/clip.mp4"
    draft_host.drafts["clipsrc"] = {"clip.mp4": clip_path}
    inline = tiny_draft("inline-1", video=clip_url)
    callback = str(server.make_url("/hook"))
    job = await (await client.post("/v1/renders", json={"draft": inline, "callback_url": callback})).json()
    assert job["callback_url"] == callback
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len([c for c in calls if c["path"] == "/hook"]) < 3:
        await asyncio.sleep(0.05)
    hooks = [c for c in calls if c["path"] == "/hook"]
    assert len(hooks) == 3
    assert [c["headers"]["X-Delivery-Attempt"] for c in hooks] == ["1", "2", "3"]
    for c in hooks:
        expected = "sha256=" + hmac.new(SECRET.encode(), c["body"], hashlib.sha256).hexdigest()
        assert hmac.compare_digest(c["headers"]["X-Signature"], expected)
        assert c["headers"]["X-Render-Event"] == "completed" and c["headers"]["X-Render-Id"] == job["id"]
    payload = json.loads(hooks[-1]["body"])
    assert payload["id"] == job["id"] and payload["state"] == "completed" and payload["video_url"]
    await asyncio.sleep(0.1)
    stored = await client.app[STORE].get(job["id"])
    assert stored.webhook_state == "delivered" and stored.webhook_attempts == 3


async def test_webhook_gives_up_after_the_retries(client, receiver, draft_host, clip_path):
    server, calls, _ = receiver
    _, url = add_tiny(draft_host, clip_path)
    job = await (
        await client.post("/v1/renders", json={"draft_url": url, "callback_url": str(server.make_url("/always-500"))})
    ).json()
    await wait_job(client, job["id"])
    deadline = time.monotonic() + 30
    stored = None
    while time.monotonic() < deadline:
        stored = await client.app[STORE].get(job["id"])
        if stored.webhook_state == "failed":
            break
        await asyncio.sleep(0.05)
    assert stored.webhook_state == "failed" and stored.webhook_attempts == 4  # 1 + 3 retries


# -- failures as data -----------------------------------------------------------------------------


async def render_failure(client, body):
    resp = await client.post("/v1/renders", json=body)
    assert resp.status == 202, await resp.text()
    return await wait_job(client, (await resp.json())["id"])


async def test_failure_codes_on_jobs(unchecked, draft_host, clip_path, tmp_path):
    c = unchecked
    # DRAFT_NOT_FOUND: get_draft says the draft is unknown (found by the worker: no submission check)
    job = await render_failure(c, {"draft_url": draft_host.url("20260101000000feedbee1")})
    assert job["state"] == "failed" and job["error"]["code"] == "DRAFT_NOT_FOUND"
    # DRAFT_EMPTY and DRAFT_INVALID (with its JSON path) found by the worker
    did = new_draft_id()
    job = await render_failure(c, {"draft_url": draft_host.add_content(did, empty_draft(did))})
    assert job["error"]["code"] == "DRAFT_EMPTY"
    did = new_draft_id()
    bad = tiny_draft(did)
    bad["canvas_config"]["width"] = "wide"
    job = await render_failure(c, {"draft_url": draft_host.add_content(did, bad)})
    assert job["error"]["code"] == "DRAFT_INVALID" and job["error"]["path"] == "$.canvas_config.width"
    # ASSET_UNREACHABLE: the clip is not in the draft folder
    did = new_draft_id()
    job = await render_failure(c, {"draft_url": draft_host.add_content(did, tiny_draft(did))})
    assert job["error"]["code"] == "ASSET_UNREACHABLE" and "clip.mp4" in job["error"]["context"]["url"]
    # ASSET_UNREACHABLE with the HTTP status: an http material answering 404
    did = new_draft_id()
    missing = f"{draft_host.base}/output/draft/nowhere/gone.mp4"
    job = await render_failure(c, {"draft_url": draft_host.add_content(did, tiny_draft(did, video=missing))})
    assert job["error"]["code"] == "ASSET_UNREACHABLE"
    assert job["error"]["context"] == {"url": missing, "status": 404}
    # ASSET_DECODE_FAILED: the clip is not a video
    did = new_draft_id()
    url = draft_host.add_content(did, tiny_draft(did), {"assets/videos/clip.mp4": b"\x00" * 4096})
    job = await render_failure(c, {"draft_url": url})
    assert job["error"]["code"] == "ASSET_DECODE_FAILED"
    # capcut view of a failed job
    did = new_draft_id()
    url = draft_host.add_content(did, tiny_draft(did))
    sub = await (await c.post(f"{CM}/gen_video", json={"draft_url": url})).json()
    await wait_job(c, sub["task_id"])
    st = await (
        await c.post(f"{CM}/gen_video_status", json={"draft_url": url}, headers={"Accept-Language": "en"})
    ).json()
    assert st["status"] == "failed" and st["progress"] == 0 and st["error_code"] == "ASSET_UNREACHABLE"
    assert st["error_message"].startswith("A material cannot be downloaded: ") and st["video_url"] == ""


@pytest.mark.parametrize(
    "path",
    [
        "/etc/hostname",
        "../../../../../../etc/hostname",
        "file:///etc/hostname",
        "assets/../../../../../../etc/hostname",
    ],
)
async def test_material_paths_outside_the_draft_folder_are_refused(unchecked, draft_host, path):
    did = new_draft_id()
    url = draft_host.add_content(did, tiny_draft(did, video=path))
    job = await render_failure(unchecked, {"draft_url": url})
    assert job["state"] == "failed" and job["error"]["code"] == "ASSET_UNREACHABLE", job["error"]


async def test_render_timeout(tmp_path_factory, draft_host, clip_path):
    c = await start_app(tmp_path_factory, job_timeout_s=2.0)
    try:
        _, url = add_tiny(draft_host, clip_path, seconds=20.0, width=1280, height=720)
        job = await (await c.post("/v1/renders", json={"draft_url": url})).json()
        job = await wait_job(c, job["id"], timeout=30)
        assert job["state"] == "failed" and job["error"]["code"] == "RENDER_TIMEOUT"
        assert job["attempts"] == 1
    finally:
        await c.close()


# -- a worker killed mid-render -----------------------------------------------------------------


async def test_sigkilled_worker_job_is_rerun(client, draft_host, clip_path):
    _, url = add_tiny(draft_host, clip_path, seconds=10.0, width=640, height=360)
    job = await (await client.post("/v1/renders", json={"draft_url": url})).json()
    await wait_job(client, job["id"], until=lambda j: j["frames_done"] > 0)
    pool = client.app[POOL]
    pid = pool.slots[0].proc.pid
    os.kill(pid, signal.SIGKILL)
    # Re-run by the pool's crash handling, not by the job timeout (the default, an hour: far
    # beyond wait_job's deadline) - no wall-clock bound on how soon.
    assert client.app[SETTINGS].job_timeout_s > 600
    await wait_job(client, job["id"], until=lambda j: j["attempts"] == 2 and j["state"] == "running")
    final = await wait_job(client, job["id"])
    assert final["state"] == "completed" and final["attempts"] == 2, final
    assert pool.slots[0].proc.pid != pid
    metrics = await (await client.get("/metrics")).text()
    assert "draft_render_worker_crashes_total 1.0" in metrics
    assert re.search(r'draft_render_jobs_finished_total\{error_code="",state="completed"\} [1-9]', metrics)
    assert re.search(r"draft_render_render_seconds_count [1-9]", metrics)


# -- the seed's Python client, unchanged but for its base URL ----------------------------------------


class VideoGenerator:
    """``VideoGenerator``, the Python example of capcut-mate's gen_video docs, verbatim except
    the default base URL."""

    def __init__(self, base_url: str = "https://api.assets.jcaigc.cn"):
        self.base_url = base_url

    def generate_video(self, draft_url: str, timeout: int = 300):
        response = requests.post(
            f"{self.base_url}/openapi/capcut-mate/v1/gen_video",
            headers={"Content-Type": "application/json"},
            json={"draft_url": draft_url},
            timeout=timeout,
        )
        response.raise_for_status()
        return response.json()

    def generate_video_with_polling(
        self, draft_url: str, poll_interval: int = 5, max_attempts: int = 60, on_progress=None
    ):
        attempt = 0

        while attempt < max_attempts:
            try:
                result = self.generate_video(draft_url, timeout=30)

                if result.get("video_url"):
                    if on_progress:
                        on_progress({"status": "completed", "result": result})
                    return result

                if on_progress:
                    on_progress(
                        {
                            "status": "processing",
                            "attempt": attempt + 1,
                            "max_attempts": max_attempts,
                            "message": result.get("message", "处理中..."),
                        }
                    )

                time.sleep(poll_interval)
                attempt += 1

            except requests.exceptions.Timeout:
                if on_progress:
                    on_progress(
                        {
                            "status": "processing",
                            "attempt": attempt + 1,
                            "max_attempts": max_attempts,
                            "message": "处理中...",
                        }
                    )
                time.sleep(poll_interval)
                attempt += 1
            except Exception as e:
                raise e

        raise Exception("视频生成超时,请稍后重试")


async def test_seed_polling_client_finishes(client, draft_host, clip_path):
    _, url = add_tiny(draft_host, clip_path, seconds=1.0)
    generator = VideoGenerator(str(client.make_url("")).rstrip("/"))
    seen = []
    result = await asyncio.get_running_loop().run_in_executor(
        None, lambda: generator.generate_video_with_polling(url, on_progress=seen.append)
    )
    assert result["video_url"].startswith("http://127.0.0.1:") and result["code"] == 0
    assert seen[-1]["status"] == "completed"
    video = await asyncio.get_running_loop().run_in_executor(None, lambda: requests.get(result["video_url"]))
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
