"""``POST /v1/probe`` (a draft checked without rendering), ``GET /v1/stats`` (the queue summary)
and the console's own routes (``/``, ``/static/console/*``), in-process without workers."""

from __future__ import annotations

import asyncio

import pytest

from server.routes_console import CSP
from tests.server_fixtures import clip_path, draft_host, make_client, new_draft_id  # noqa: F401 - fixtures
from tests.server_helpers import empty_draft, tiny_draft

pytestmark = pytest.mark.asyncio


def with_unknown_effect(content: dict) -> dict:
    content["materials"]["video_effects"] = [
        {"id": "fx", "type": "video_effect", "name": "未知特效", "resource_id": "900004"}
    ]
    content["tracks"].append(
        {
            "id": "e",
            "type": "effect",
            "segments": [
                {
                    "id": "E",
                    "material_id": "fx",
                    "target_timerange": {"start": 250_000, "duration": 500_000},
                    "render_index": 3,
                }
            ],
        }
    )
    return content


async def test_probe_of_a_draft_url(make_client, draft_host, clip_path):
    client = await make_client()
    did = new_draft_id()
    url = draft_host.add_content(
        did, with_unknown_effect(tiny_draft(did, seconds=1.0)), {"assets/videos/clip.mp4": clip_path}
    )
    resp = await client.post("/v1/probe", json={"draft_url": url})
    body = await resp.json()
    assert resp.status == 200, body
    assert (body["draft_id"], body["canvas_width"], body["canvas_height"]) == (did, 160, 90)
    assert (body["width"], body["height"], body["fps"], body["frames"]) == (160, 90, "30/1", 30)
    assert body["duration_s"] == body["output_duration_s"] == 1.0
    visual = [t for t in body["tracks"] if t["kind"] == "visual"]
    assert visual[0]["items"] == [
        {"start_s": 0.0, "end_s": 1.0, "kind": "video", "name": "clip.mp4", "segment_id": "s1"}
    ]
    [warning] = body["warnings"]
    assert (warning["kind"], warning["status"], warning["name"]) == ("effect", "skipped", "未知特效")
    assert (warning["start_us"], warning["end_us"]) == (250_000, 750_000)
    # nothing was queued
    assert (await (await client.get("/v1/renders")).json())["items"] == []


async def test_probe_applies_the_output_options(make_client, draft_host, clip_path):
    client = await make_client()
    did = new_draft_id()
    url = draft_host.add_content(did, tiny_draft(did, seconds=1.0), {"assets/videos/clip.mp4": clip_path})
    resp = await client.post("/v1/probe", json={"draft_url": url, "output": {"preview": True, "start_s": 0.5}})
    body = await resp.json()
    assert resp.status == 200, body
    assert (body["width"], body["height"], body["frames"], body["output_duration_s"]) == (480, 270, 15, 0.5)


async def test_probe_of_an_inline_draft_and_its_errors(make_client, draft_host, clip_path):
    client = await make_client()
    did = new_draft_id()
    draft_host.add_content(did, tiny_draft(did), {"assets/videos/clip.mp4": clip_path})
    clip_url = f"{draft_host.base}/output/draft/{did}/assets/videos/clip.mp4"
    resp = await client.post("/v1/probe", json={"draft": tiny_draft("inline", video=clip_url)})
    body = await resp.json()
    assert resp.status == 200, body
    assert body["frames"] == 30 and body["tracks"][0]["items"][0]["kind"] == "video"

    resp = await client.post("/v1/probe", json={"draft": tiny_draft("x", video="/etc/passwd")})
    assert resp.status == 400 and (await resp.json())["error"]["path"] == "$.draft.materials.videos[0].path"
    resp = await client.post("/v1/probe", json={"draft": empty_draft("e")})
    assert (await resp.json())["error"]["code"] == "DRAFT_EMPTY"
    resp = await client.post("/v1/probe", json={"draft_url": draft_host.url("20260101000000deadbee3")})
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "DRAFT_NOT_FOUND"
    resp = await client.post("/v1/probe", json={})
    assert resp.status == 400 and (await resp.json())["error"]["path"] == "$.draft_url"
    # a material the draft host does not have: the job would fail the same way
    missing = tiny_draft("m", video=f"{draft_host.base}/output/draft/{did}/assets/videos/nope.mp4")
    resp = await client.post("/v1/probe", json={"draft": missing})
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "ASSET_UNREACHABLE"


async def test_probe_does_not_block_the_event_loop(make_client, draft_host, clip_path):
    client = await make_client()
    did = new_draft_id()
    url = draft_host.add_content(did, tiny_draft(did), {"assets/videos/clip.mp4": clip_path})
    draft_host.delay_s = 1.0  # get_draft answers after a second
    try:
        probe = asyncio.ensure_future(client.post("/v1/probe", json={"draft_url": url}))
        await asyncio.sleep(0.1)
        health = await client.get("/healthz")
        assert health.status == 200 and not probe.done()
        assert (await probe).status == 200
    finally:
        draft_host.delay_s = 0.0


async def test_stats(make_client, draft_host, clip_path):
    client = await make_client()
    for _ in range(2):
        did = new_draft_id()
        url = draft_host.add_content(did, tiny_draft(did), {"assets/videos/clip.mp4": clip_path})
        assert (await client.post("/v1/renders", json={"draft_url": url})).status == 202
    body = await (await client.get("/v1/stats")).json()
    assert body["jobs"] == {"queued": 2, "running": 0, "completed": 0, "failed": 0, "cancelled": 0}
    assert body["queue_depth"] == 2 and body["concurrency"] == 0 and body["running"] == []
    assert body["last_hour"]["completed"] == 0 and body["last_hour"]["frames_per_s"] is None


async def test_console_routes(make_client):
    client = await make_client()
    resp = await client.get("/")
    text = await resp.text()
    assert resp.status == 200 and resp.content_type == "text/html"
    assert resp.headers["Content-Security-Policy"] == CSP
    assert 'src="static/console/console.js"' in text
    for name, ctype in (("console.js", "text/javascript"), ("console.css", "text/css"), ("jobs.js", "text/javascript")):
        r = await client.get(f"/static/console/{name}")
        assert r.status == 200 and r.content_type == ctype
    for bad in (
        "/static/console/nope.js",
        "/static/console/..%2F..%2Fapp.py",
        "/static/console/.hidden.js",
        "/static/console/index.html",
    ):
        assert (await client.get(bad)).status == 404, bad
