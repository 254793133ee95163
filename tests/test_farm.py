"""A render farm of real processes on one machine (issue 11): one API-only node and three
worker-only nodes (``python -m server worker``) share a Valkey store (``--store redis://…``)
and an S3 bucket (``--storage s3://…``, moto in server mode), all on 127.0.0.1.

Twenty short jobs and one long job that is split into chunks run at once; while a chunk
renders, the worker node that holds it (not the coordinator of the long job) is SIGKILLed with
its worker processes. Every job must complete, each exactly once (one callback per job, one
object per output), and the chunked output must hold exactly the timeline's frames, decode
cleanly and keep its audio within one frame of the video.
"""

from __future__ import annotations

import http.server
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import av
import pytest
import requests

from fixtures.media import make_video
from tests.s3_fixtures import s3_endpoint  # noqa: F401 - fixture
from tests.server_fixtures import draft_host, new_draft_id  # noqa: F401 - fixtures
from tests.server_helpers import ServerProcess, make_clip, tiny_draft
from tests.valkey_server import redis_store_url, valkey_url  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow

SHORT_JOBS = 20
LONG_SECONDS, FPS, CHUNK_SECONDS = 8.0, 30, 2
LONG_FRAMES = int(LONG_SECONDS * FPS)
LEASE_S = 6.0  # a dead node's chunk is re-run after about this long


class CallbackReceiver:
    """Counts webhook callbacks per job id (an HTTP server on 127.0.0.1 in a thread)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.states: dict[str, str] = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                job_id = self.headers.get("X-Render-Id", "")
                receiver.calls[job_id] += 1
                receiver.states[job_id] = self.headers.get("X-Render-Event", "")
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def _get(base: str, path: str) -> dict:
    return requests.get(f"{base}{path}", timeout=10).json()


def _frames_and_drift(path: Path) -> tuple[int, float, float]:
    """(decoded video frames, video seconds, audio seconds) — decoding every frame."""
    with av.open(str(path)) as c:
        frames = sum(1 for _ in c.decode(c.streams.video[0]))
    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        ends = [p.pts + (p.duration or 0) for p in c.demux(a) if p.size and p.pts is not None]
        audio_s = float(max(ends) * a.time_base)
    return frames, frames / FPS, audio_s


@pytest.fixture
def farm(tmp_path, redis_store_url, s3_endpoint, draft_host):  # noqa: F811 - fixtures
    bucket = s3_endpoint.new_bucket()
    common = [
        "--store",
        redis_store_url,
        "--storage",
        f"s3://{bucket}/farm",
        "--s3-endpoint-url",
        s3_endpoint.url,
        "--s3-addressing-style",
        "path",
        "--lease",
        str(LEASE_S),
        "--chunk-seconds",
        str(CHUNK_SECONDS),
        "--render-threads",
        "1",
        "--retention",
        "3600",
    ]
    api = ServerProcess(tmp_path / "api", extra=[*common, "--concurrency", "0"])
    workers = [
        ServerProcess(tmp_path / f"w{i}", command=["worker"], extra=[*common, "--concurrency", "1"]) for i in range(3)
    ]
    started: list[ServerProcess] = []
    try:
        for node in (api, *workers):
            started.append(node.start(timeout=90))
        yield api, workers, bucket
    finally:
        for node in started:
            node.stop()


def test_a_farm_renders_every_job_exactly_once_through_a_node_loss(farm, draft_host, s3_endpoint, tmp_path):  # noqa: F811
    api, workers, bucket = farm
    receiver = CallbackReceiver()
    try:
        clip = make_clip(tmp_path / "media" / "short.mp4", seconds=1.0)
        long_clip = make_video(
            tmp_path / "media" / "long.mp4", w=320, h=180, dur_s=LONG_SECONDS, fps=FPS, pattern="clock", tone_hz=440
        )
        short_ids = []
        for _ in range(SHORT_JOBS):
            did = new_draft_id()
            url = draft_host.add_content(did, tiny_draft(did), {"assets/videos/clip.mp4": clip})
            body = {"draft_url": url, "callback_url": receiver.url, "preset": "ultrafast"}
            short_ids.append(requests.post(f"{api.base}/v1/renders", json=body, timeout=10).json()["id"])
        did = new_draft_id()
        content = tiny_draft(did, seconds=LONG_SECONDS, width=320, height=180)
        url = draft_host.add_content(did, content, {"assets/videos/clip.mp4": long_clip})
        body = {"draft_url": url, "callback_url": receiver.url, "preset": "ultrafast"}
        long_id = requests.post(f"{api.base}/v1/renders", json=body, timeout=10).json()["id"]
        all_ids = {*short_ids, long_id}

        # -- kill the node that renders a chunk of the long job (not its coordinator) -----------
        victim, lost_chunk = None, None
        deadline = time.monotonic() + 240
        while victim is None and time.monotonic() < deadline:
            nodes = _get(api.base, "/v1/workers")["workers"]
            for node in nodes:
                chunk_jobs = [j for j in node["jobs"] if j not in all_ids]
                if chunk_jobs and long_id not in node["jobs"]:
                    chunk = _get(api.base, f"/v1/renders/{chunk_jobs[0]}")
                    assert "state" in chunk, (chunk_jobs, chunk)
                    if chunk["state"] == "running" and chunk["frames_done"] > 0:  # in the middle of it
                        victim = next(w for w in workers if w.proc is not None and w.proc.pid == node["pid"])
                        lost_chunk = chunk_jobs[0]
                        break
            time.sleep(0.05)
        assert victim is not None, "no worker node was seen rendering a chunk of the long job"
        os.killpg(victim.proc.pid, signal.SIGKILL)
        victim.proc.wait(timeout=10)
        # the lost chunk is rendered again, alone, once its lease runs out (chunk jobs are
        # deleted when their parent is joined, so watch for the second attempt now)
        rerun: dict = {}
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            seen = _get(api.base, f"/v1/renders/{lost_chunk}")
            if "attempts" in seen:
                rerun = seen
            if rerun.get("attempts", 0) >= 2 or _get(api.base, f"/v1/renders/{long_id}")["state"] != "running":
                break
            time.sleep(0.05)
        assert rerun.get("attempts", 0) >= 2, rerun

        # -- every job completes ------------------------------------------------------------------
        deadline = time.monotonic() + 420
        jobs: dict[str, dict] = {}
        while time.monotonic() < deadline:
            jobs = {i: _get(api.base, f"/v1/renders/{i}") for i in all_ids}
            if all(j["state"] in ("completed", "failed", "cancelled") for j in jobs.values()):
                break
            time.sleep(0.5)
        assert {i: j["state"] for i, j in jobs.items()} == {i: "completed" for i in all_ids}

        # -- exactly once: one callback per job, one object per output ---------------------------
        deadline = time.monotonic() + 60
        while set(receiver.calls) != all_ids and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # a duplicate delivery would arrive now
        assert receiver.calls == Counter({i: 1 for i in all_ids})
        videos = [k for k in s3_endpoint.keys(bucket, "farm/outputs/") if k.endswith(".mp4")]
        assert sorted(videos) == sorted(f"farm/outputs/{i}.mp4" for i in all_ids)

        # -- the chunked output: exact frame count, clean decode, A/V within one frame -----------
        long_job = jobs[long_id]
        assert long_job["result"]["frames"] == LONG_FRAMES
        out = tmp_path / "long.mp4"
        resp = requests.get(long_job["video_url"], timeout=30)
        assert resp.status_code == 200
        out.write_bytes(resp.content)
        frames, video_s, audio_s = _frames_and_drift(out)
        assert frames == LONG_FRAMES
        assert abs(video_s - audio_s) <= 1 / FPS
    finally:
        receiver.stop()
