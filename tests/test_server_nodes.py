"""Node roles and the worker registry: ``GET /v1/workers`` (open without keys, admin keys only
with keys), an API node's own registration, the worker node's two routes, and real processes —
an API-only node (``--concurrency 0``) and a worker-only node (``python -m server worker``)
sharing the SQLite store of one data directory render a job end to end."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from server.settings import Settings
from server.state import INSTANCE_ID, STORE
from server.worker.node import create_worker_app
from tests.server_fixtures import TEST_DEFAULTS, clip_path, draft_host, make_client, new_draft_id  # noqa: F401
from tests.server_helpers import REPO, ServerProcess, tiny_draft

NODE = {"id": "n-1", "host": "box-a", "pid": 7, "slots": 2, "jobs": ["j-1"], "role": "worker", "started_at": 1.5e9}


@pytest.mark.asyncio
async def test_workers_route_lists_live_nodes_without_keys(make_client):
    client = await make_client()  # concurrency 0: an API-only node registers nothing
    assert await (await client.get("/v1/workers")).json() == {"workers": []}
    await client.server.app[STORE].register_worker(NODE, 60)
    data = await (await client.get("/v1/workers")).json()
    [w] = data["workers"]
    assert {k: w[k] for k in ("id", "host", "pid", "slots", "jobs", "role")} == {
        "id": "n-1",
        "host": "box-a",
        "pid": 7,
        "slots": 2,
        "jobs": ["j-1"],
        "role": "worker",
    }
    assert w["started_at"].startswith("2017-07-14T") and w["seen_at"].endswith("Z")


@pytest.mark.asyncio
async def test_workers_route_takes_admin_keys_only(make_client):
    client = await make_client(api_keys=("user-key",), admin_keys=("admin-key",))
    resp = await client.get("/v1/workers", headers={"X-API-Key": "user-key"})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "FORBIDDEN"
    assert (await client.get("/v1/workers")).status == 401
    resp = await client.get("/v1/workers", headers={"X-API-Key": "admin-key"})
    assert resp.status == 200 and (await resp.json()) == {"workers": []}


@pytest.mark.asyncio
async def test_an_api_node_with_workers_registers_itself(make_client):
    client = await make_client(concurrency=1)
    [w] = (await (await client.get("/v1/workers")).json())["workers"]
    assert w["id"] == client.server.app[INSTANCE_ID] and w["role"] == "api+worker" and w["slots"] == 1
    assert w["jobs"] == []


def test_the_worker_node_has_only_health_and_metrics(tmp_path):
    app = create_worker_app(Settings(**{**TEST_DEFAULTS, "data_dir": str(tmp_path), "concurrency": 1}))
    assert sorted((r.method, r.resource.canonical) for r in app.router.routes()) == [
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("HEAD", "/healthz"),
        ("HEAD", "/metrics"),
    ]


def test_a_worker_node_needs_a_slot(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "server", "worker", "--data-dir", str(tmp_path), "--concurrency", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "--concurrency 1 or more" in out.stderr


def listening_addresses(pid: int, port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp) of ``pid``'s listening TCP sockets on ``port``."""
    found = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(addr)
    return found


def wait_for(what, cond, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = what()
        if cond(value):
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out: {value}")


@pytest.mark.slow
def test_api_only_node_and_worker_node_share_one_store(tmp_path, draft_host, clip_path):
    data = tmp_path / "data"
    # no chunked renders (the API node sets the rule at submission): the cancel below is of one
    # long job running on the worker node
    api = ServerProcess(data, extra=["--concurrency", "0", "--lease", "10", "--chunk-seconds", "0"]).start()
    worker = None
    try:
        did = new_draft_id()
        url = draft_host.add_content(did, tiny_draft(did, seconds=0.2), {"assets/videos/clip.mp4": clip_path})
        job = requests.post(f"{api.base}/v1/renders", json={"draft_url": url, "output": {"preset": "ultrafast"}})
        assert job.status_code == 202
        job_id = job.json()["id"]
        time.sleep(0.5)
        assert requests.get(f"{api.base}/v1/renders/{job_id}").json()["state"] == "queued"  # nobody renders
        assert requests.get(f"{api.base}/v1/workers").json() == {"workers": []}

        # --host is ignored: a worker node listens on 127.0.0.1 only
        worker = ServerProcess(data, command=["worker"], extra=["--concurrency", "1", "--lease", "10"]).start()
        assert listening_addresses(worker.proc.pid, worker.port) == {"0100007F"}
        health = requests.get(f"{worker.base}/healthz").json()
        assert health["status"] == "ok" and health["concurrency"] == 1
        assert requests.get(f"{worker.base}/metrics").status_code == 200
        for path in ("/v1/renders", "/v1/workers", "/openapi.json", "/docs", f"/v1/renders/{job_id}"):
            assert requests.get(f"{worker.base}{path}").status_code == 404, path

        done = wait_for(
            lambda: requests.get(f"{api.base}/v1/renders/{job_id}").json(),
            lambda j: j["state"] in ("completed", "failed", "cancelled"),
        )
        assert done["state"] == "completed" and done["attempts"] == 1, done
        video = requests.get(done["video_url"])
        assert video.status_code == 200 and video.content[4:8] == b"ftyp"

        [node] = requests.get(f"{api.base}/v1/workers").json()["workers"]
        assert node["role"] == "worker" and node["slots"] == 1
        assert node["host"] and node["pid"] == worker.proc.pid

        # a running job is listed on its node, and a cancel made on the API node reaches it
        # (10 minutes of output: a held 1-s clip renders at hundreds of frames a second, and
        # 20 s of it could finish before the cancel got across)
        did = new_draft_id()
        url = draft_host.add_content(
            did, tiny_draft(did, seconds=600.0, width=640, height=360), {"assets/videos/clip.mp4": clip_path}
        )
        long_id = requests.post(f"{api.base}/v1/renders", json={"draft_url": url}).json()["id"]
        wait_for(lambda: requests.get(f"{api.base}/v1/renders/{long_id}").json(), lambda j: j["frames_done"] > 0)
        wait_for(lambda: requests.get(f"{api.base}/v1/workers").json()["workers"][0]["jobs"], lambda j: j == [long_id])
        assert requests.delete(f"{api.base}/v1/renders/{long_id}").status_code in (200, 202)
        gone = wait_for(
            lambda: requests.get(f"{api.base}/v1/renders/{long_id}").json(), lambda j: j["state"] != "running"
        )
        assert gone["state"] == "cancelled" and gone["frames_done"] < gone["frames_total"], gone
    finally:
        if worker is not None:
            worker.stop()
    assert worker.proc.returncode == 0, worker.log.read_text()[-3000:]
    try:
        # a node that stops leaves the registry at once
        assert requests.get(f"{api.base}/v1/workers").json() == {"workers": []}
    finally:
        api.stop()
