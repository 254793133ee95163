"""HTTP behaviour of the service without rendering (``concurrency=0``: jobs are accepted and stay
queued): validation, every submission-time error code, envelopes, idempotency while active,
languages, API keys, the native API's bookkeeping, OpenAPI/docs/health/metrics."""

from __future__ import annotations

import asyncio
import re
import uuid

import msgspec
import pytest

from server.errors import ERRORS, GEN_VIDEO_SUBMITTED
from tests.server_fixtures import clip_path, draft_host, make_client, new_draft_id  # noqa: F401 - fixtures
from tests.server_helpers import empty_draft, tiny_draft

pytestmark = pytest.mark.asyncio

CM = "/openapi/capcut-mate/v1"
ISO_NAIVE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$")


def add_tiny(draft_host, clip_path, **kw) -> tuple[str, str]:
    did = new_draft_id()
    url = draft_host.add_content(did, tiny_draft(did, **kw), {"assets/videos/clip.mp4": clip_path})
    return did, url


async def post(client, path, body, **kw):
    resp = await client.post(path, json=body, **kw)
    return resp.status, await resp.json()


def assert_error(status, body, http, code, capcut=None):
    assert status == http, body
    assert body["error"]["code"] == code
    assert body["code"] == (capcut if capcut is not None else ERRORS[code].capcut)
    assert body["message"].startswith(body["error"]["message"])


# -- gen_video: validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, path",
    [
        ({}, "$.draft_url"),
        ({"draft_url": 12}, "$.draft_url"),
        ({"draft_url": ["x"]}, "$.draft_url"),
        ({"draft_url": "ftp://host/x?draft_id=1"}, "$.draft_url"),
        ({"draft_url": "   "}, "$.draft_url"),
        ({"draft_url": "http://127.0.0.1:1/get_draft?draft_id=1", "apiKey": 5}, "$.apiKey"),
        ({"draft_url": "http://127.0.0.1:1/get_draft?draft_id=1", "apiKey": "not-a-uuid"}, "$.apiKey"),
    ],
)
async def test_gen_video_validation_errors_carry_the_json_path(make_client, body, path):
    client = await make_client()
    status, data = await post(client, f"{CM}/gen_video", body)
    assert_error(status, data, 400, "VALIDATION_ERROR", 1001)
    assert data["error"]["path"] == path
    assert data["message"].startswith("参数校验失败(")


async def test_gen_video_without_draft_id_is_2001(make_client):
    client = await make_client()
    status, data = await post(client, f"{CM}/gen_video", {"draft_url": "http://127.0.0.1:9/get_draft?x=1"})
    assert_error(status, data, 400, "VALIDATION_ERROR", 2001)


async def test_malformed_and_empty_bodies(make_client):
    client = await make_client()
    for raw in (b"{not json", b"", b"[1, 2]"):
        resp = await client.post(f"{CM}/gen_video", data=raw, headers={"Content-Type": "application/json"})
        data = await resp.json()
        assert_error(resp.status, data, 400, "VALIDATION_ERROR", 1001)


async def test_gen_video_success_body_and_unknown_fields_ignored(make_client, draft_host, clip_path):
    client = await make_client()
    _, url = add_tiny(draft_host, clip_path)
    status, data = await post(client, f"{CM}/gen_video", {"draft_url": url, "whatever": {"x": 1}, "apiKey": None})
    assert status == 200
    assert data["code"] == 0 and data["message"] == GEN_VIDEO_SUBMITTED
    assert data["status"] == "pending" and data["progress"] == 0
    assert "video_url" not in data and data["draft_url"] == url and data["task_id"]


async def test_gen_video_is_idempotent_while_active(make_client, draft_host, clip_path):
    client = await make_client()
    did, url = add_tiny(draft_host, clip_path)
    _, a = await post(client, f"{CM}/gen_video", {"draft_url": url})
    _, b = await post(client, f"{CM}/gen_video", {"draft_url": url})
    assert a["task_id"] == b["task_id"]
    assert draft_host.hits[("get_draft", did)] == 1  # checked once, at creation
    # another URL string for the same draft is another task (capcut-mate keys by the string)
    _, c = await post(client, f"{CM}/gen_video", {"draft_url": url + "&v=2"})
    assert c["task_id"] != a["task_id"]
    resp = await client.get(f"{CM}/gen_video_active_count")
    assert (await resp.json()) == {"code": 0, "message": "成功", "count": 2}


async def test_concurrent_identical_submissions_make_one_job(make_client, draft_host, clip_path):
    client = await make_client()
    _, url = add_tiny(draft_host, clip_path)
    results = await asyncio.gather(*(post(client, f"{CM}/gen_video", {"draft_url": url}) for _ in range(20)))
    assert {r[1]["task_id"] for r in results} == {results[0][1]["task_id"]}


# -- gen_video: draft errors at submission ------------------------------------------------------


async def test_invalid_draft_url_when_get_draft_says_no(make_client, draft_host):
    client = await make_client()
    status, data = await post(client, f"{CM}/gen_video", {"draft_url": draft_host.url("20260101000000deadbeef")})
    assert_error(status, data, 404, "INVALID_DRAFT_URL", 2001)
    assert data["error"]["context"]["api_code"] == 2001
    did = new_draft_id()
    draft_host.add_content(did, tiny_draft(did))
    draft_host.status_override[did] = 404
    status, data = await post(client, f"{CM}/gen_video", {"draft_url": draft_host.url(did)})
    assert_error(status, data, 404, "INVALID_DRAFT_URL", 2001)


async def test_empty_draft_is_400_draft_empty(make_client, draft_host):
    client = await make_client()
    did = new_draft_id()
    url = draft_host.add_content(did, empty_draft(did))
    status, data = await post(client, f"{CM}/gen_video", {"draft_url": url})
    assert_error(status, data, 400, "DRAFT_EMPTY")
    # no 3-second minimum: a 1-second draft is accepted
    did2 = new_draft_id()
    url2 = draft_host.add_content(did2, tiny_draft(did2, seconds=1.0))
    status, data = await post(client, f"{CM}/gen_video", {"draft_url": url2})
    assert status == 200 and data["code"] == 0


async def test_malformed_draft_is_400_draft_invalid_with_path(make_client, draft_host):
    client = await make_client()
    did = new_draft_id()
    bad = tiny_draft(did)
    bad["tracks"][0]["segments"][0]["target_timerange"]["duration"] = "long"
    url = draft_host.add_content(did, bad)
    status, data = await post(client, f"{CM}/gen_video", {"draft_url": url})
    assert_error(status, data, 400, "DRAFT_INVALID")
    assert data["error"]["path"] == "$.tracks[0].segments[0].target_timerange.duration"


async def test_unreachable_draft_host_is_accepted_and_reported_later(make_client):
    client = await make_client()
    status, data = await post(
        client, f"{CM}/gen_video", {"draft_url": "http://127.0.0.1:9/openapi/capcut-mate/v1/get_draft?draft_id=1"}
    )
    assert status == 200 and data["status"] == "pending"


async def test_queue_full_is_503_busy(make_client, draft_host, clip_path):
    client = await make_client(queue_limit=2)
    for _ in range(2):
        _, url = add_tiny(draft_host, clip_path)
        assert (await post(client, f"{CM}/gen_video", {"draft_url": url}))[0] == 200
    _, url = add_tiny(draft_host, clip_path)
    resp = await client.post(f"{CM}/gen_video", json={"draft_url": url})
    assert_error(resp.status, await resp.json(), 503, "BUSY", 2030)
    assert resp.headers["Retry-After"]


async def test_url_allowlist(make_client, draft_host, clip_path):
    client = await make_client(url_allowlist=(f"127.0.0.1:{draft_host.port}",))
    _, url = add_tiny(draft_host, clip_path)
    assert (await post(client, f"{CM}/gen_video", {"draft_url": url}))[0] == 200
    status, data = await post(client, f"{CM}/gen_video", {"draft_url": "http://10.0.0.1/g?draft_id=1"})
    assert_error(status, data, 400, "URL_FORBIDDEN")  # classified only: never connected to


# -- API keys, languages, envelopes ---------------------------------------------------------------


async def test_api_key_enforcement(make_client, draft_host, clip_path):
    key = str(uuid.uuid4())
    client = await make_client(api_keys=(key,))
    _, url = add_tiny(draft_host, clip_path)
    status, data = await post(client, f"{CM}/gen_video", {"draft_url": url})
    assert_error(status, data, 401, "UNAUTHORIZED", 2036)
    status, data = await post(client, f"{CM}/gen_video", {"draft_url": url, "apiKey": str(uuid.uuid4())})
    assert_error(status, data, 401, "INVALID_API_KEY", 2036)
    status, data = await post(client, f"{CM}/gen_video", {"draft_url": url, "apiKey": key})
    assert status == 200 and data["code"] == 0
    # native API: header
    resp = await client.post("/v1/renders", json={"draft_url": url})
    assert resp.status == 401
    resp = await client.post("/v1/renders", json={"draft_url": url}, headers={"X-API-Key": key})
    assert resp.status == 202


async def test_api_key_accepted_but_not_required_by_default(make_client, draft_host, clip_path):
    client = await make_client()
    _, url = add_tiny(draft_host, clip_path)
    status, data = await post(client, f"{CM}/gen_video", {"draft_url": url, "apiKey": str(uuid.uuid4())})
    assert status == 200


async def test_english_messages(make_client):
    client = await make_client()
    status, data = await post(
        client,
        f"{CM}/gen_video_status",
        {"draft_url": "http://x/y?draft_id=nope"},
        headers={"Accept-Language": "en-US,en;q=0.9"},
    )
    assert_error(status, data, 404, "TASK_NOT_FOUND", 2031)
    assert data["message"] == "Video generation task not found"
    status, data = await post(
        client,
        f"{CM}/gen_video_status",
        {"draft_url": "http://x/y?draft_id=nope"},
        headers={"Accept-Language": "zh-CN"},
    )
    assert data["message"] == "视频生成任务未找到"
    resp = await client.get(f"{CM}/gen_video_active_count", headers={"Accept-Language": "en"})
    assert (await resp.json())["message"] == "Success"


async def test_always_200_envelope(make_client):
    client = await make_client(capcut_always_200=True)
    status, data = await post(client, f"{CM}/gen_video_status", {"draft_url": "http://x/y?draft_id=nope"})
    assert status == 200 and data["code"] == 2031 and data["error"]["code"] == "TASK_NOT_FOUND"
    status, data = await post(client, f"{CM}/gen_video", {})
    assert status == 200 and data["code"] == 1001
    resp = await client.get(f"{CM}/nope")
    assert resp.status == 200 and (await resp.json())["code"] == 404
    # the native API keeps its HTTP statuses
    resp = await client.get("/v1/renders/nope")
    assert resp.status == 404


async def test_unknown_route_and_wrong_method(make_client):
    client = await make_client()
    resp = await client.get("/nope")
    data = await resp.json()
    assert resp.status == 404 and data["code"] == 404 and data["error"]["code"] == "NOT_FOUND"
    assert data["message"].startswith("资源不存在(HTTP Error 404")
    resp = await client.get(f"{CM}/gen_video")
    data = await resp.json()
    assert resp.status == 405 and data["code"] == 405 and "POST" in resp.headers["Allow"]


async def test_request_id_header(make_client):
    client = await make_client()
    resp = await client.get("/healthz", headers={"X-Request-ID": "abc"})
    assert resp.headers["X-Request-ID"] == "abc"
    resp = await client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["X-Request-ID"])


# -- gen_video_status -----------------------------------------------------------------------------


async def test_status_of_a_pending_task(make_client, draft_host, clip_path):
    client = await make_client()
    _, url = add_tiny(draft_host, clip_path)
    _, sub = await post(client, f"{CM}/gen_video", {"draft_url": url})
    status, data = await post(client, f"{CM}/gen_video_status", {"draft_url": url})
    assert status == 200
    assert data["code"] == 0 and data["message"] == "成功" and data["draft_url"] == url
    assert data["status"] == "pending" and data["progress"] == 0 and data["video_url"] == ""
    assert data["error_message"] == "" and data["error_code"] == "" and data["warnings"] == []
    assert ISO_NAIVE.match(data["created_at"]) and data["started_at"] is None and data["completed_at"] is None
    assert data["phase"] == "queued" and data["eta_s"] is None and data["task_id"] == sub["task_id"]


async def test_status_validation_and_unknown(make_client):
    client = await make_client()
    status, data = await post(client, f"{CM}/gen_video_status", {})
    assert_error(status, data, 400, "VALIDATION_ERROR")
    assert data["error"]["path"] == "$.draft_url"
    status, data = await post(client, f"{CM}/gen_video_status", {"draft_url": ""})
    assert_error(status, data, 400, "VALIDATION_ERROR")
    status, data = await post(client, f"{CM}/gen_video_status", {"draft_url": "http://x/?draft_id=1"})
    assert_error(status, data, 404, "TASK_NOT_FOUND", 2031)


async def test_terminal_task_found_by_draft_id_from_another_url(make_client, draft_host, clip_path):
    client = await make_client()
    did, url = add_tiny(draft_host, clip_path)
    _, sub = await post(client, f"{CM}/gen_video", {"draft_url": url})
    other = f"https://elsewhere.example/openapi/capcut-mate/v1/get_draft?draft_id={did}"
    status, data = await post(client, f"{CM}/gen_video_status", {"draft_url": other})
    assert status == 404  # not terminal yet
    resp = await client.delete(f"/v1/renders/{sub['task_id']}")
    assert resp.status == 200
    status, data = await post(client, f"{CM}/gen_video_status", {"draft_url": other}, headers={"Accept-Language": "en"})
    assert status == 200 and data["task_id"] == sub["task_id"] and data["draft_url"] == url
    assert data["status"] == "failed" and data["progress"] == 0 and data["error_code"] == "CANCELLED"
    assert data["error_message"] == "The job was cancelled" and ISO_NAIVE.match(data["completed_at"])


async def test_async_submit_check_reports_a_bad_draft_on_the_task(make_client, draft_host):
    client = await make_client(submit_check="async")
    url = draft_host.url("20260101000000deadbee1")
    status, data = await post(client, f"{CM}/gen_video", {"draft_url": url})
    assert status == 200 and data["code"] == 0
    for _ in range(100):
        _, st = await post(client, f"{CM}/gen_video_status", {"draft_url": url})
        if st["status"] == "failed":
            break
        await asyncio.sleep(0.05)
    assert st["status"] == "failed" and st["error_code"] == "INVALID_DRAFT_URL"
    assert st["error_message"].startswith("无效的草稿URL")


# -- native API (no rendering) --------------------------------------------------------------------


async def test_create_render_validation(make_client, draft_host, clip_path):
    client = await make_client()
    _, url = add_tiny(draft_host, clip_path)
    cases = [
        ({}, "$.draft_url"),
        ({"draft_url": url, "draft": tiny_draft("x")}, "$.draft_url"),
        ({"draft_url": url, "output": {"crf": 99}}, "$.output.crf"),
        ({"draft_url": url, "output": {"width": 4}}, "$.output.width"),
        ({"draft_url": url, "output": {"preset": "ludicrous"}}, "$.output.preset"),
        ({"draft_url": url, "output": {"fps": "0/1"}}, "$.output.fps"),
        ({"draft_url": url, "output": {"start_s": 5, "end_s": 2}}, "$.output.end_s"),
        ({"draft_url": url, "callback_url": "file:///etc/passwd"}, "$.callback_url"),
        ({"draft_url": url, "callback_url": 3}, "$.callback_url"),
        ({"draft": tiny_draft("x", video="/etc/passwd")}, "$.draft.materials.videos[0].path"),
        ({"draft": tiny_draft("x", video="relative/clip.mp4")}, "$.draft.materials.videos[0].path"),
    ]
    for body, path in cases:
        resp = await client.post("/v1/renders", json=body)
        data = await resp.json()
        assert_error(resp.status, data, 400, "VALIDATION_ERROR")
        assert data["error"]["path"] == path, (body, data)


async def test_create_render_draft_errors(make_client, draft_host):
    client = await make_client()
    resp = await client.post("/v1/renders", json={"draft_url": draft_host.url("20260101000000deadbee2")})
    assert_error(resp.status, await resp.json(), 404, "DRAFT_NOT_FOUND", 2001)
    resp = await client.post("/v1/renders", json={"draft": empty_draft("e")})
    assert_error(resp.status, await resp.json(), 400, "DRAFT_EMPTY")
    bad = tiny_draft("b", video="http://127.0.0.1:9/c.mp4")
    bad["fps"] = "fast"
    resp = await client.post("/v1/renders", json={"draft": bad})
    data = await resp.json()
    assert_error(resp.status, data, 400, "DRAFT_INVALID")
    assert data["error"]["path"] == "$.draft.fps"


async def test_create_get_list_cancel(make_client, draft_host, clip_path):
    client = await make_client()
    _, url = add_tiny(draft_host, clip_path)
    resp = await client.post(
        "/v1/renders", json={"draft_url": url, "output": {"width": 320, "fps": 24, "start_s": 0.0, "end_s": 0.5}}
    )
    assert resp.status == 202
    job = await resp.json()
    assert resp.headers["Location"] == f"/v1/renders/{job['id']}"
    assert job["state"] == "queued" and job["progress"] == 0 and job["video_url"] is None
    assert job["output"] == {"width": 320, "fps": "24/1", "crf": 23, "preset": "veryfast", "start_s": 0.0, "end_s": 0.5}
    assert job["created_at"].endswith("Z") and job["links"]["self"].endswith(f"/v1/renders/{job['id']}")
    inline = await (
        await client.post(
            "/v1/renders",
            json={"draft": tiny_draft("i", video="http://127.0.0.1:9/c.mp4"), "output": {"preview": True}},
        )
    ).json()
    assert inline["output"]["width"] == 480 and inline["output"]["preset"] == "ultrafast"
    assert inline["draft_url"] is None

    got = await (await client.get(f"/v1/renders/{job['id']}")).json()
    assert got["id"] == job["id"]
    resp = await client.get("/v1/renders/0000")
    assert_error(resp.status, await resp.json(), 404, "NOT_FOUND", 1002)

    listing = await (await client.get("/v1/renders?limit=1")).json()
    assert [j["id"] for j in listing["items"]] == [inline["id"]] and listing["next_before"]
    page2 = await (await client.get(f"/v1/renders?limit=1&before={listing['next_before']}")).json()
    assert [j["id"] for j in page2["items"]] == [job["id"]]
    for bad in ("state=bogus", "limit=0", "limit=x"):
        resp = await client.get(f"/v1/renders?{bad}")
        assert_error(resp.status, await resp.json(), 400, "VALIDATION_ERROR")

    resp = await client.get(f"/v1/renders/{job['id']}/video.mp4")
    assert_error(resp.status, await resp.json(), 409, "NOT_READY")
    resp = await client.get(f"/v1/renders/{job['id']}/poster.jpg")
    assert_error(resp.status, await resp.json(), 409, "NOT_READY")

    resp = await client.delete(f"/v1/renders/{job['id']}")
    cancelled = await resp.json()
    assert resp.status == 200 and cancelled["state"] == "cancelled"
    assert cancelled["error"]["code"] == "CANCELLED"
    assert (await client.delete(f"/v1/renders/{job['id']}")).status == 200  # idempotent
    assert (await client.delete("/v1/renders/0000")).status == 404
    queued = await (await client.get("/v1/renders?state=queued")).json()
    assert [j["id"] for j in queued["items"]] == [inline["id"]]


async def test_idempotency_key(make_client, draft_host, clip_path):
    client = await make_client()
    _, url = add_tiny(draft_host, clip_path)
    h = {"Idempotency-Key": "order-42"}
    r1 = await client.post("/v1/renders", json={"draft_url": url}, headers=h)
    r2 = await client.post("/v1/renders", json={"draft_url": url}, headers=h)
    assert r1.status == 202 and r2.status == 200
    assert (await r1.json())["id"] == (await r2.json())["id"]
    r3 = await client.post("/v1/renders", json={"draft_url": url})
    assert (await r3.json())["id"] != (await r1.json())["id"]


async def test_events_of_a_finished_job_is_one_terminal_event(make_client, draft_host, clip_path):
    client = await make_client()
    _, url = add_tiny(draft_host, clip_path)
    job = await (await client.post("/v1/renders", json={"draft_url": url})).json()
    await client.delete(f"/v1/renders/{job['id']}")
    resp = await client.get(f"/v1/renders/{job['id']}/events")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    text = await resp.text()
    assert text.count("event: ") == 1 and "event: cancelled" in text
    data = msgspec.json.decode(re.search(r"^data: (.*)$", text, re.M).group(1))
    assert data["state"] == "cancelled"
    resp = await client.get("/v1/renders/nope/events")
    assert resp.status == 404


async def test_events_stream_changes_until_terminal(make_client, draft_host, clip_path):
    client = await make_client()
    _, url = add_tiny(draft_host, clip_path)
    job = await (await client.post("/v1/renders", json={"draft_url": url})).json()
    resp = await client.get(f"/v1/renders/{job['id']}/events")
    first = await resp.content.readuntil(b"\n\n")
    assert b"event: progress" in first and b'"state":"queued"' in first
    await client.delete(f"/v1/renders/{job['id']}")
    rest = await asyncio.wait_for(resp.content.read(), 5)
    assert b"event: cancelled" in rest


# -- service endpoints ----------------------------------------------------------------------------


async def test_openapi_docs_health_metrics(make_client):
    client = await make_client()
    spec = await (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    for path in (
        f"{CM}/gen_video",
        f"{CM}/gen_video_status",
        f"{CM}/gen_video_active_count",
        "/v1/renders",
        "/v1/renders/{id}",
        "/v1/renders/{id}/events",
        "/v1/renders/{id}/poster.jpg",
        "/v1/renders/{id}/video.mp4",
        "/healthz",
        "/metrics",
    ):
        assert path in spec["paths"], path
    assert {"GenVideoRequest", "RenderJob", "ErrorBody"} <= set(spec["components"]["schemas"])
    resp = await client.get("/docs")
    html = await resp.text()
    assert resp.status == 200 and "swagger-ui-bundle.js" in html
    for f in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-initializer.js", "LICENSE"):
        assert (await client.get(f"/docs/static/{f}")).status == 200, f
    health = await (await client.get("/healthz")).json()
    assert health["status"] == "ok" and health["jobs"]["queued"] == 0
    text = await (await client.get("/metrics")).text()
    assert 'draft_render_jobs{state="queued"}' in text and "draft_render_queue_depth" in text
    assert "draft_render_render_seconds" in text and "draft_render_frames_per_second" in text


async def test_two_apps_have_separate_metrics(make_client, draft_host, clip_path):
    a = await make_client()
    b = await make_client()
    await a.get("/healthz")
    await a.get("/healthz")
    text_b = await (await b.get("/metrics")).text()
    assert 'route="/healthz"' not in text_b
