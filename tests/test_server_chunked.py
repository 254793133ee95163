"""Chunked renders in the service (server/chunked.py) with real worker processes: a job over
--chunk-seconds is split into chunk jobs, joined with the exact frame count and its audio,
chunk jobs stay out of the user's lists and counts, and a chunk abandoned by a dead claimant
is re-run alone after its lease."""

from __future__ import annotations

import asyncio
import io
import time

import av
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from compositor.pipeline import chunk_ranges
from server import chunked
from server.worker import coordinator
from server.app import create_app
from server.jobs.model import COMPLETED, KIND_CHUNK, KIND_NATIVE, NewJob, RenderSpec
from server.settings import Settings
from server.state import POOL, STORE
from tests.server_fixtures import TEST_DEFAULTS, draft_host, new_draft_id  # noqa: F401 - fixtures
from tests.server_helpers import free_port, make_clip, tiny_draft

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECONDS, FPS = 3.5, 30
FRAMES = int(SECONDS * FPS)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clips") / "long.mp4", seconds=SECONDS)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client(tmp_path_factory):
    port = free_port()
    settings = Settings(
        **{
            **TEST_DEFAULTS,
            "port": port,
            "concurrency": 2,
            "chunk_seconds": 1.0,
            "lease_s": 30.0,  # only the child heart-beats a job: its start-up on a loaded box can take 10+ s
            "data_dir": str(tmp_path_factory.mktemp("data")),
        }
    )
    c = TestClient(TestServer(create_app(settings), host="127.0.0.1", port=port))
    await c.start_server()
    yield c
    await c.close()


def add_long(draft_host, long_clip) -> tuple[str, str]:
    did = new_draft_id()
    url = draft_host.add_content(did, tiny_draft(did, seconds=SECONDS), {"assets/videos/clip.mp4": long_clip})
    return did, url


async def wait_job(client, job_id, timeout=90.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = await (await client.get(f"/v1/renders/{job_id}")).json()
        if job["state"] in ("completed", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")


async def chunks_of(store, parent_id: str) -> list:
    out = []
    for index in range(len(chunk_ranges(FRAMES, FPS))):
        job = await store.get_by_key(chunked.idem_key(parent_id, index))
        if job is not None:
            out.append(job)
    return out


def check_video(body: bytes) -> None:
    with av.open(io.BytesIO(body)) as c:
        assert c.streams.audio, "the timeline's audio is joined in"
        frames = list(c.decode(video=0))
    assert len(frames) == FRAMES
    ends = {}
    for kind in ("video", "audio"):
        with av.open(io.BytesIO(body)) as c:
            stream = c.streams.video[0] if kind == "video" else c.streams.audio[0]
            end = 0
            for p in c.demux(stream):
                if p.size and p.pts is not None:
                    end = max(end, p.pts + (p.duration or 0))
            ends[kind] = float(end * stream.time_base)
    assert abs(ends["video"] - ends["audio"]) <= 1 / FPS


async def test_a_long_job_is_rendered_in_chunks(client, draft_host, long_clip):
    store = client.server.app[STORE]
    _, url = add_long(draft_host, long_clip)
    sub = await (await client.post("/v1/renders", json={"draft_url": url})).json()
    job = await wait_job(client, sub["id"])
    assert job["state"] == "completed", job
    body = await (await client.get(f"/v1/renders/{sub['id']}/video.mp4")).read()
    check_video(body)

    stored = await store.get(sub["id"])
    assert stored.result["chunks"] == len(chunk_ranges(FRAMES, FPS)) == 4
    assert stored.frames_done == stored.frames_total == FRAMES and stored.progress == 100
    parts = await chunks_of(store, sub["id"])
    assert len(parts) == 4 and all(p.kind == KIND_CHUNK and p.state == COMPLETED for p in parts)
    assert [(p.spec.chunk.start_frame, p.spec.chunk.end_frame) for p in parts] == chunk_ranges(FRAMES, FPS)
    # hidden from the user's views
    listed = await (await client.get("/v1/renders")).json()
    ids = [j["id"] for j in listed["items"]]
    assert sub["id"] in ids and not {p.id for p in parts} & set(ids)
    counts = await store.counts()
    assert counts["completed"] == len([j for j in await store.list(limit=1000) if j.state == "completed"])
    assert not (client.server.app[POOL].storage.blobs / "chunks" / sub["id"]).exists()  # blobs deleted


async def test_a_chunk_abandoned_by_its_claimant_runs_again(client, draft_host, long_clip):
    app = client.server.app
    store, pool = app[STORE], app[POOL]
    did, url = add_long(draft_host, long_clip)
    for slot in pool.slots:  # hold the workers while the "dead" claimant takes a chunk
        slot.not_before = float("inf")
    try:
        parent = (
            await store.submit(NewJob(kind=KIND_NATIVE, spec=RenderSpec(chunk_s=1.0), draft_url=url, draft_id=did))
        ).job
        a, b = chunk_ranges(FRAMES, FPS)[1]
        ghost = (await store.submit(chunked.chunk_job(parent, 1, a, b))).job
        claimed = await store.claim_job(ghost.id, "dead-node:0", 0.5)  # never heart-beaten
        assert claimed is not None and claimed.attempts == 1
    finally:
        for slot in pool.slots:
            slot.not_before = 0.0
        pool.wake()
    job = await wait_job(client, parent.id)
    assert job["state"] == "completed", job
    rerun = await store.get(ghost.id)
    assert rerun.state == COMPLETED and rerun.attempts == 2 and rerun.owner is None
    assert [p.id for p in await chunks_of(store, parent.id)][1] == ghost.id  # reused, not duplicated
    check_video(await (await client.get(f"/v1/renders/{parent.id}/video.mp4")).read())


async def test_cancel_of_the_parent_cancels_its_chunks(client, draft_host, tmp_path):
    store = client.server.app[STORE]
    clip = make_clip(tmp_path / "ten.mp4", seconds=10.0, width=320, height=180)
    did = new_draft_id()
    url = draft_host.add_content(
        did, tiny_draft(did, seconds=10.0, width=320, height=180), {"assets/videos/clip.mp4": clip}
    )
    sub = await (await client.post("/v1/renders", json={"draft_url": url})).json()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # cancel once the job has been split
        if await store.get_by_key(chunked.idem_key(sub["id"], 0)) is not None:
            break
        await asyncio.sleep(0.05)
    resp = await client.delete(f"/v1/renders/{sub['id']}")
    assert resp.status in (200, 202)
    job = await wait_job(client, sub["id"])
    assert job["state"] == "cancelled", job
    parts = [await store.get_by_key(chunked.idem_key(sub["id"], i)) for i in range(10)]
    parts = [p for p in parts if p is not None]
    assert len(parts) == 10
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(p.active for p in parts):
        await asyncio.sleep(0.1)
        parts = [await store.get(p.id) for p in parts]
    assert not any(p.active for p in parts)
    assert any(p.state == "cancelled" for p in parts)


async def test_a_chunk_seeds_its_private_draft_copy_with_hard_links(tmp_path):
    shared = tmp_path / "cache" / "d1"
    (shared / "assets" / "videos").mkdir(parents=True)
    (shared / "draft_content.json").write_text("{}")
    (shared / "assets" / "videos" / "clip.mp4").write_bytes(b"x" * 10)
    (shared / "assets" / "videos" / ".clip.mp4.1234.part").write_bytes(b"half")
    private = tmp_path / "work" / "c1" / "cache" / "d1"
    coordinator.seed(shared, private)
    linked = private / "assets" / "videos" / "clip.mp4"
    assert linked.stat().st_ino == (shared / "assets" / "videos" / "clip.mp4").stat().st_ino
    assert (private / "draft_content.json").is_file()
    assert not (private / "assets" / "videos" / ".clip.mp4.1234.part").exists()
