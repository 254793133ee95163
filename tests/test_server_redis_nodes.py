"""Two service nodes on one Redis/Valkey store (the session's loopback Valkey server): an
API-only node (``concurrency=0``) takes the submissions, cancels and Server-Sent Events; a node
with a worker renders. Progress, completion and cancel cross between them through the store."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.settings import Settings
from tests.server_fixtures import TEST_DEFAULTS, clip_path, draft_host, new_draft_id  # noqa: F401 - fixtures
from tests.server_helpers import free_port, tiny_draft

pytestmark = pytest.mark.asyncio


async def start_node(tmp_path, name: str, store: str, concurrency: int) -> TestClient:
    port = free_port()
    settings = Settings(
        **{
            **TEST_DEFAULTS,
            "port": port,
            "concurrency": concurrency,
            "store": store,
            # a starting worker process sends its first heartbeat late on a loaded machine
            "lease_s": 15.0,
            "data_dir": str(tmp_path / name),
        }
    )
    client = TestClient(TestServer(create_app(settings), host="127.0.0.1", port=port))
    await client.start_server()
    return client


def add_tiny(draft_host, clip_path, **kw) -> str:
    did = new_draft_id()
    return draft_host.add_content(did, tiny_draft(did, **kw), {"assets/videos/clip.mp4": clip_path})


async def wait_job(client, job_id, until, timeout=60.0) -> dict:
    deadline = time.monotonic() + timeout
    job: dict = {}
    while time.monotonic() < deadline:
        job = await (await client.get(f"/v1/renders/{job_id}")).json()
        if until(job):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not get there: {job}")


async def test_sse_and_cancel_on_an_api_node_for_a_job_another_node_renders(
    tmp_path, redis_store_url, draft_host, clip_path
):
    api = await start_node(tmp_path, "api", redis_store_url, concurrency=0)
    worker = await start_node(tmp_path, "worker", redis_store_url, concurrency=1)
    try:
        # 1. submitted on the API node, rendered by the other node, followed by SSE on the API node
        url = add_tiny(draft_host, clip_path)
        job = await (await api.post("/v1/renders", json={"draft_url": url})).json()
        resp = await api.get(f"/v1/renders/{job['id']}/events")
        events = []
        async with asyncio.timeout(60):
            while True:
                text = (await resp.content.readuntil(b"\n\n")).decode()
                if text.startswith(":"):
                    continue
                name = re.search(r"^event: (\S+)", text, re.M).group(1)
                events.append((name, json.loads(re.search(r"^data: (.*)$", text, re.M).group(1))))
                if name != "progress":
                    break
        assert events[0][1]["state"] in ("queued", "running")  # the worker node may have claimed it already
        assert any(d["state"] == "running" for _, d in events)
        assert events[-1][0] == "completed" and events[-1][1]["progress"] == 100
        listed = await (await worker.get("/v1/renders?state=completed")).json()
        assert [j["id"] for j in listed["items"]] == [job["id"]]

        # 2. a cancel on the API node stops the render on the worker node
        url = add_tiny(draft_host, clip_path, seconds=20.0, width=640, height=360)
        long = await (await api.post("/v1/renders", json={"draft_url": url})).json()
        await wait_job(api, long["id"], until=lambda j: j["frames_done"] > 0)
        resp = await api.delete(f"/v1/renders/{long['id']}")
        body = await resp.json()
        assert resp.status == 200
        done = await wait_job(worker, long["id"], until=lambda j: j["state"] != "running")
        assert done["state"] == "cancelled" and done["frames_done"] < done["frames_total"], (body, done)
    finally:
        await worker.close()
        await api.close()
