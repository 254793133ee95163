"""``python -m server`` as a real process: restart after SIGKILL keeps queued jobs and re-runs the
interrupted one; workers die with their server; SIGINT hands running jobs back; settings
from flags and the environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from server.settings import Settings
from tests.server_fixtures import clip_path, draft_host, new_draft_id  # noqa: F401 - fixtures
from tests.server_helpers import REPO, ServerProcess, tiny_draft


def add_tiny(draft_host, clip_path, **kw) -> str:
    did = new_draft_id()
    return draft_host.add_content(did, tiny_draft(did, **kw), {"assets/videos/clip.mp4": clip_path})


def job(base, job_id):
    return requests.get(f"{base}/v1/renders/{job_id}", timeout=5).json()


def wait(base, job_id, cond, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        j = job(base, job_id)
        if cond(j):
            return j
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {job_id}: {j}")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_restart_keeps_queued_jobs_and_reruns_the_interrupted_one(tmp_path, draft_host, clip_path):
    data = tmp_path / "data"
    srv = ServerProcess(data, extra=["--lease", "2", "--concurrency", "1"]).start()
    try:
        long_url = add_tiny(draft_host, clip_path, seconds=20.0, width=640, height=360)
        a = requests.post(f"{srv.base}/v1/renders", json={"draft_url": long_url}).json()
        b = requests.post(
            f"{srv.base}/openapi/capcut-mate/v1/gen_video", json={"draft_url": add_tiny(draft_host, clip_path)}
        ).json()
        c = requests.post(f"{srv.base}/v1/renders", json={"draft_url": add_tiny(draft_host, clip_path)}).json()
        wait(srv.base, a["id"], lambda j: j["frames_done"] > 0)
        workers = srv.worker_pids()
        assert workers, "no worker process found"
        assert job(srv.base, b["task_id"])["state"] == "queued"
        os.kill(srv.proc.pid, signal.SIGKILL)  # the server only: its workers must follow
        srv.proc.wait(10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(p) for p in workers):
            time.sleep(0.05)
        assert not any(alive(p) for p in workers), "a worker outlived its server"
    finally:
        srv.kill()
        srv.stop()

    srv2 = ServerProcess(data, extra=["--lease", "2", "--concurrency", "1"]).start()
    try:
        states = {k: job(srv2.base, i)["state"] for k, i in (("a", a["id"]), ("b", b["task_id"]), ("c", c["id"]))}
        assert states["b"] in ("queued", "running") and states["c"] in ("queued", "running")
        assert states["a"] in ("queued", "running")
        done = {
            k: wait(srv2.base, i, lambda j: j["state"] in ("completed", "failed", "cancelled"))
            for k, i in (("a", a["id"]), ("b", b["task_id"]), ("c", c["id"]))
        }
        assert all(d["state"] == "completed" for d in done.values()), done
        assert done["a"]["attempts"] == 2 and done["b"]["attempts"] == 1 and done["c"]["attempts"] == 1
        st = requests.post(
            f"{srv2.base}/openapi/capcut-mate/v1/gen_video_status", json={"draft_url": b["draft_url"]}
        ).json()
        assert st["status"] == "completed" and st["video_url"].startswith(srv2.base)
        assert requests.get(st["video_url"]).status_code == 200
    finally:
        srv2.stop()
    assert srv2.proc.returncode == 0, srv2.log.read_text()[-3000:]


@pytest.mark.slow
def test_sigint_hands_a_running_job_back(tmp_path, draft_host, clip_path):
    data = tmp_path / "data"
    srv = ServerProcess(data, extra=["--lease", "30"]).start()
    try:
        url = add_tiny(draft_host, clip_path, seconds=20.0, width=640, height=360)
        a = requests.post(f"{srv.base}/v1/renders", json={"draft_url": url}).json()
        wait(srv.base, a["id"], lambda j: j["frames_done"] > 0)
    finally:
        srv.stop()
    assert srv.proc.returncode == 0
    srv2 = ServerProcess(data, extra=["--lease", "30"]).start()
    try:
        # a 30 s lease did not have to run out: the job was released at shutdown
        done = wait(srv2.base, a["id"], lambda j: j["state"] == "completed", timeout=25)
        assert done["attempts"] == 1
    finally:
        srv2.stop()


def test_one_server_per_data_dir(tmp_path):
    srv = ServerProcess(tmp_path / "data", extra=["--concurrency", "0"]).start()
    try:
        other = subprocess.run(
            [sys.executable, "-m", "server", "--port", "0", "--data-dir", str(tmp_path / "data"), "--concurrency", "0"],
            cwd=REPO,
            capture_output=True,
            timeout=30,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert other.returncode != 0
        assert b"another server is using the data directory" in other.stderr
    finally:
        srv.stop()


def test_settings_from_flags_and_environment():
    env = {
        "DRAFT_SERVER_PORT": "31000",
        "DRAFT_SERVER_CONCURRENCY": "2",
        "DRAFT_SERVER_API_KEYS": "a, b",
        "DRAFT_SERVER_REQUIRE_API_KEY": "yes",
        "DRAFT_SERVER_CAPCUT_ALWAYS_200": "true",
        "DRAFT_SERVER_PUBLIC_BASE_URL": "https://videos.example/",
    }
    s = Settings.from_sources(["--port", "32000", "--queue-limit", "5", "--job-timeout", "60"], env)
    assert s.port == 32000 and s.concurrency == 2 and s.queue_limit == 5 and s.job_timeout_s == 60.0
    assert s.api_keys == ("a", "b") and s.require_api_key and s.capcut_always_200
    assert s.base_url == "https://videos.example"
    d = Settings.from_sources([], {})
    assert (d.host, d.port, d.concurrency, d.require_api_key, d.submit_check) == ("127.0.0.1", 30000, 1, False, "sync")
    assert d.base_url == "http://127.0.0.1:30000"
    with pytest.raises(SystemExit):
        Settings.from_sources(["--concurrency", "-1"], {})
    with pytest.raises(SystemExit):
        Settings.from_sources([], {"DRAFT_SERVER_REQUIRE_API_KEY": "maybe"})


def test_help_and_no_side_effects_at_import():
    out = subprocess.run(
        [sys.executable, "-m", "server", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.returncode == 0 and "--concurrency" in out.stdout
    code = (
        "import threading, server.app, server.worker, server.routes_capcut, server.routes_native, "
        "server.openapi, server.webhooks, server.metrics, server.storage, server.jobs; "
        "assert threading.active_count() == 1, threading.enumerate(); "
        "import multiprocessing; assert not multiprocessing.active_children()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.returncode == 0, out.stderr
