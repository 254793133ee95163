"""Issue 11, benchmark 6(a): render jobs per hour with N = 1 and N = 2 worker processes on this box,
each with ``--render-threads 1`` (not part of the default test run).

    PYTHONPATH=$PWD pytest bench/test_bench_workers.py -s --benchmark-only

The job: a realistic short render — 4 s of 1280×720 30 fps textured H.264 with a stereo AAC
track, one draft per job (distinct draft ids: the per-draft cache lock never serialises two
workers), x264 ``veryfast`` crf 23. Configurations, each a fresh set of real processes on one
data directory:

* ``N1`` — ``python -m server --concurrency 1 --render-threads 1`` (the baseline: one worker,
  one thread);
* ``N2`` — ``python -m server --concurrency 2 --render-threads 1`` (two worker processes);
* ``N2-nodes`` — an API-only node (``--concurrency 0``) and two worker-only nodes
  (``python -m server worker --concurrency 1 --render-threads 1``) sharing the SQLite store:
  the render farm on one box.

Each run warms every worker with one job, then submits ``BENCH_WORKER_JOBS`` jobs at once and
times submission → last completion. Configurations are interleaved round by round
(``BENCH_WORKER_ROUNDS``) so they see the same background load; the ratio is taken per round
and the median reported (goal: N2 / N1 ≥ 1.8 on 2 cores), with the load average. A missed goal
is reported (``target_met``), not turned into a failure. Results: ``bench/results/workers.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from fixtures.media import make_video
from tests.server_helpers import DraftHost, ServerProcess, tiny_draft

JOBS = int(os.environ.get("BENCH_WORKER_JOBS", "8"))
ROUNDS = int(os.environ.get("BENCH_WORKER_ROUNDS", "2"))
SECONDS, WIDTH, HEIGHT = 4.0, 1280, 720
TARGET_RATIO = 1.8
RESULTS = Path(__file__).resolve().parent / "results" / "workers.json"
CACHE = Path(__file__).resolve().parent.parent / ".cache" / "bench"
COMMON = ["--render-threads", "1", "--lease", "30", "--log-level", "WARNING", "--queue-limit", "100000"]


def _textured_clip() -> Path:
    path = CACHE / "workers-720p-4s.mp4"
    if path.exists():
        return path
    rng = np.random.default_rng(11)
    texture = rng.integers(0, 256, (HEIGHT, WIDTH * 2, 3), dtype=np.uint8)
    texture[..., 2] = np.linspace(0, 255, WIDTH * 2, dtype=np.uint8)[None, :]

    def frame(i: int, t: float) -> np.ndarray:
        off = (i * 8) % WIDTH
        return np.ascontiguousarray(texture[:, off : off + WIDTH])

    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.mp4")
    make_video(tmp, w=WIDTH, h=HEIGHT, dur_s=SECONDS, frame_fn=frame, tone_hz=440.0, crf=20)
    tmp.rename(path)
    return path


@pytest.fixture(scope="module")
def host():
    h = DraftHost().start()
    yield h
    h.stop()


_ids = iter(range(10**9))


def _draft_url(host: DraftHost, clip: Path) -> str:
    did = f"20261203{next(_ids):06d}{os.getpid() % 0xFFFFFFFF:08x}"
    return host.add_content(
        did, tiny_draft(did, seconds=SECONDS, width=WIDTH, height=HEIGHT), {"assets/videos/clip.mp4": clip}
    )


def _run_jobs(base: str, urls: list[str], timeout_s: float = 1800.0) -> float:
    """Submit every URL at once; seconds until the last job completed (all must complete)."""
    started = time.monotonic()
    ids = []
    for url in urls:
        resp = requests.post(f"{base}/v1/renders", json={"draft_url": url}, timeout=30)
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["id"])
    pending = set(ids)
    while pending and time.monotonic() - started < timeout_s:
        for job_id in list(pending):
            job = requests.get(f"{base}/v1/renders/{job_id}", timeout=30).json()
            if job["state"] in ("completed", "failed", "cancelled"):
                assert job["state"] == "completed", job
                pending.discard(job_id)
        time.sleep(0.1)
    assert not pending, f"{len(pending)} jobs did not finish"
    return time.monotonic() - started


def _start(config: str, data: Path) -> tuple[ServerProcess, list[ServerProcess], int]:
    """(API node, worker nodes, worker processes) of one configuration."""
    if config == "N2-nodes":
        api = ServerProcess(data, extra=["--concurrency", "0", *COMMON]).start()
        nodes = [
            ServerProcess(data, command=["worker"], extra=["--concurrency", "1", *COMMON]).start() for _ in range(2)
        ]
        return api, nodes, 2
    n = {"N1": 1, "N2": 2}[config]
    return ServerProcess(data, extra=["--concurrency", str(n), *COMMON]).start(), [], n


def _measure(config: str, data: Path, host: DraftHost, clip: Path) -> dict:
    api, nodes, workers = _start(config, data)
    try:
        _run_jobs(api.base, [_draft_url(host, clip) for _ in range(workers)])  # warm every worker
        wall = _run_jobs(api.base, [_draft_url(host, clip) for _ in range(JOBS)])
    finally:
        for node in nodes:
            node.stop()
        api.stop()
    return {"config": config, "jobs": JOBS, "wall_s": round(wall, 2), "jobs_per_hour": round(JOBS / wall * 3600, 1)}


def test_jobs_per_hour_with_one_and_two_workers(tmp_path, host, benchmark):
    clip = _textured_clip()
    configs = ["N1", "N2", "N2-nodes"]
    runs: list[dict] = []
    loads = [os.getloadavg()[0]]
    for r in range(ROUNDS):
        for config in configs if r % 2 == 0 else list(reversed(configs)):
            res = _measure(config, tmp_path / f"{config}-{r}", host, clip)
            res.update(round=r, load_1m=round(os.getloadavg()[0], 2))
            print(f"\n  {json.dumps(res)}", flush=True)
            runs.append(res)
        loads.append(os.getloadavg()[0])

    def per_round(config: str) -> list[float]:
        return [x["jobs_per_hour"] for x in sorted(runs, key=lambda x: x["round"]) if x["config"] == config]

    base = per_round("N1")
    ratios = {c: [round(a / b, 3) for a, b in zip(per_round(c), base)] for c in ("N2", "N2-nodes")}
    report = {
        "job": f"{SECONDS:g} s {WIDTH}x{HEIGHT} 30 fps textured + AAC, veryfast crf 23, --render-threads 1",
        "jobs_per_run": JOBS,
        "rounds": ROUNDS,
        "jobs_per_hour": {c: round(statistics.median(per_round(c)), 1) for c in configs},
        "ratio_vs_N1": {c: round(statistics.median(v), 3) for c, v in ratios.items()},
        "ratio_per_round": ratios,
        "load_1m": [round(x, 2) for x in loads],
        "cpus": os.cpu_count(),
        "target_ratio": TARGET_RATIO,
        "runs": runs,
    }
    report["target_met"] = report["ratio_vs_N1"]["N2"] >= TARGET_RATIO
    print(f"\nworkers benchmark: {json.dumps({k: v for k, v in report.items() if k != 'runs'})}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    benchmark.extra_info.update({k: v for k, v in report.items() if k != "runs"})
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    if not report["target_met"]:
        print(f"below target: N2 / N1 = {report['ratio_vs_N1']['N2']:.2f} (goal ≥ {TARGET_RATIO})")
