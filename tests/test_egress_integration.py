"""The egress policy end to end, against canaries on loopback addresses other than 127.0.0.1.

The service tests allowlist ``127.0.0.1`` (their draft host); canaries listen on 127.0.0.2 and
127.0.0.3 (Linux routes all of 127/8 to lo) and count the requests that reach them. Under the
server's default policy every path — ``draft_url``, get_draft's file list, a material URL, a
redirect hop, ``callback_url`` — leaves the canary at 0 hits; allowlisted, it is reached.
Also: the connection goes to the address the resolver checked, error messages never carry
what a server answered, the download deadline and minimum throughput, unparseable URLs.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections import Counter

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver

from compositor.draft_folder import LocalDraft
from compositor.egress import EgressPolicy
from compositor.egress_client import EgressClient
from compositor.errors import AssetUnreachable, DraftNotFound, UrlForbidden
from compositor.fetch import FetchLimits, fetch_draft, fetch_materials
from server.egress import egress_policy
from server.errors import ERRORS
from server.settings import Settings
from tests.server_fixtures import TEST_DEFAULTS, clip_path, draft_host, make_client, new_draft_id  # noqa: F401
from tests.server_helpers import tiny_draft

pytestmark = pytest.mark.asyncio

CM = "/openapi/capcut-mate/v1"
SECRET = "INTERNAL-SECRET-7f3a"
FAST = FetchLimits(backoff_s=0.01, max_backoff_s=0.02, retries=2, connect_timeout_s=5, read_timeout_s=5)


class Stub:
    """A tiny HTTP server on one loopback address: ``routes[path] = handler``; counts hits."""

    def __init__(self, routes: dict | None = None):
        self.routes = dict(routes or {})
        self.hits: Counter = Counter()
        self.hosts: list[str] = []
        self.base = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        self.hosts.append(request.headers.get("Host", ""))
        handler = self.routes.get(request.path)
        if handler is None:
            return web.Response(text=f"{SECRET} canary page", content_type="text/html")
        return await handler(request)

    @property
    def total(self) -> int:
        return sum(self.hits.values())


@pytest.fixture
def stub(aiohttp_server):
    async def start(host: str, routes: dict | None = None) -> Stub:
        s = Stub(routes)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", s.handle)
        server = await aiohttp_server(app, host=host)
        s.base = f"http://{host}:{server.port}"
        return s

    return start


def json_handler(obj):
    async def h(_request):
        return web.json_response(obj)

    return h


def redirect_to(url: str, status: int = 302):
    async def h(_request):
        return web.Response(status=status, headers={"Location": url})

    return h


async def post(client, path, body, **kw):
    resp = await client.post(path, json=body, **kw)
    return resp.status, await resp.json()


def assert_forbidden(status, body, host):
    assert status == 400, body
    assert body["error"]["code"] == "URL_FORBIDDEN" and body["code"] == ERRORS["URL_FORBIDDEN"].capcut
    assert f"host {host}" in body["error"]["details"] and "--url-allowlist" in body["error"]["details"]
    assert "--allow-private-networks" in body["error"]["details"]


#: the server's default policy (the shared test settings also set url_allowlist_only, which
#: would refuse the canaries for another reason), plus the test draft host on 127.0.0.1
DEFAULT_POLICY = {"url_allowlist_only": False}


def server_policy(**overrides) -> EgressPolicy:
    return egress_policy(Settings(**{**TEST_DEFAULTS, **DEFAULT_POLICY, **overrides}))


# -- draft_url ------------------------------------------------------------------------------------


async def test_draft_url_canary(stub, make_client):
    canary = await stub("127.0.0.2")
    url = f"{canary.base}/get_draft?draft_id={new_draft_id()}"
    client = await make_client(**DEFAULT_POLICY)
    assert_forbidden(*await post(client, f"{CM}/gen_video", {"draft_url": url}), "127.0.0.2")
    assert_forbidden(*await post(client, "/v1/renders", {"draft_url": url}), "127.0.0.2")
    for off in await asyncio.gather(
        make_client(submit_check="off", **DEFAULT_POLICY), make_client(submit_check="async", **DEFAULT_POLICY)
    ):
        assert_forbidden(*await post(off, f"{CM}/gen_video", {"draft_url": url}), "127.0.0.2")
    assert canary.total == 0

    allowed = await make_client(url_allowlist=("127.0.0.1", "127.0.0.2"), **DEFAULT_POLICY)
    status, body = await post(allowed, f"{CM}/gen_video", {"draft_url": url})
    assert canary.hits["/get_draft"] == 1
    assert status == 404 and body["error"]["code"] == "INVALID_DRAFT_URL"  # the canary is no draft host
    assert SECRET not in json.dumps(body, ensure_ascii=False)


async def test_draft_url_by_name_is_resolved_and_refused(stub, make_client):
    """``localhost`` (from the hosts file, no DNS server): refused by the submission-time
    resolution (check off/async) and by the connector's resolver (sync check)."""
    canary = await stub("127.0.0.1")
    port = canary.base.rsplit(":", 1)[1]
    url = f"http://localhost:{port}/get_draft?draft_id={new_draft_id()}"
    for mode in ("off", "async", "sync"):
        client = await make_client(url_allowlist=(), submit_check=mode, **DEFAULT_POLICY)
        status, body = await post(client, f"{CM}/gen_video", {"draft_url": url})
        assert_forbidden(status, body, "localhost")
        assert "resolves to a loopback address" in body["error"]["details"]
    assert canary.total == 0


# -- get_draft's file list ---------------------------------------------------------------------------


async def test_file_list_canary(stub, make_client, tmp_path):
    did = new_draft_id()
    canary = await stub("127.0.0.3", {f"/output/draft/{did}/draft_content.json": json_handler(tiny_draft(did))})
    listing = {"code": 0, "files": [f"{canary.base}/output/draft/{did}/draft_content.json"]}
    lister = await stub("127.0.0.1", {"/get_draft": json_handler(listing)})
    url = f"{lister.base}/get_draft?draft_id={did}"

    client = await make_client(**DEFAULT_POLICY)  # the submission check
    assert_forbidden(*await post(client, f"{CM}/gen_video", {"draft_url": url}), "127.0.0.3")
    with pytest.raises(UrlForbidden):  # the worker's download
        await fetch_draft(url, tmp_path / "c1", limits=FAST, policy=server_policy())
    assert lister.hits["/get_draft"] == 2 and canary.total == 0

    allowed = await make_client(url_allowlist=("127.0.0.1", "127.0.0.3"), **DEFAULT_POLICY)
    status, body = await post(allowed, f"{CM}/gen_video", {"draft_url": url})
    assert status == 200 and body["code"] == 0, body
    local = await fetch_draft(
        url, tmp_path / "c2", limits=FAST, policy=server_policy(url_allowlist=("127.0.0.1", "127.0.0.3"))
    )
    assert local.content_path.is_file() and canary.total == 2


# -- a material URL -----------------------------------------------------------------------------------


async def test_material_canary(stub, tmp_path):
    canary = await stub("127.0.0.2")
    local = LocalDraft("d", tmp_path, tmp_path / "draft_content.json", "test")
    url = f"{canary.base}/clip.mp4"
    with pytest.raises(UrlForbidden) as ei:
        await fetch_materials(local, [url], limits=FAST, policy=server_policy())
    assert ei.value.host == "127.0.0.2" and canary.total == 0
    got = await fetch_materials(local, [url], limits=FAST, policy=server_policy(url_allowlist=("127.0.0.2",)))
    assert got[url].is_file() and canary.hits["/clip.mp4"] == 1
    # the library's default stays permissive (the operator chose the draft)
    await fetch_materials(local, [url + "?again"], limits=FAST)
    assert canary.hits["/clip.mp4"] == 2


# -- a redirect hop ----------------------------------------------------------------------------------


async def test_redirect_hop_canary(stub, make_client, tmp_path):
    canary = await stub("127.0.0.2")
    did = new_draft_id()
    origin = await stub(
        "127.0.0.1",
        {
            "/get_draft": redirect_to(f"{canary.base}/get_draft?draft_id={did}"),
            "/clip.mp4": redirect_to(f"{canary.base}/clip.mp4", 307),
            "/loop": redirect_to("/loop"),
            "/file": redirect_to("file:///etc/passwd"),
        },
    )
    client = await make_client(**DEFAULT_POLICY)
    assert_forbidden(
        *await post(client, f"{CM}/gen_video", {"draft_url": f"{origin.base}/get_draft?draft_id={did}"}), "127.0.0.2"
    )
    local = LocalDraft("d", tmp_path, tmp_path / "draft_content.json", "test")
    with pytest.raises(UrlForbidden):
        await fetch_materials(local, [f"{origin.base}/clip.mp4"], limits=FAST, policy=server_policy())
    assert origin.hits["/get_draft"] == 1 and origin.hits["/clip.mp4"] == 1 and canary.total == 0

    with pytest.raises(UrlForbidden, match="more than 5 redirects"):
        await fetch_materials(local, [f"{origin.base}/loop"], limits=FAST, policy=server_policy())
    assert origin.hits["/loop"] == 6  # the first request + 5 hops, never retried
    with pytest.raises(UrlForbidden, match="scheme 'file'"):
        await fetch_materials(local, [f"{origin.base}/file"], limits=FAST, policy=EgressPolicy.permissive())

    got = await fetch_materials(
        local, [f"{origin.base}/clip.mp4"], limits=FAST, policy=server_policy(url_allowlist=("127.0.0.1", "127.0.0.2"))
    )
    assert got and canary.hits["/clip.mp4"] == 1


# -- callback_url ------------------------------------------------------------------------------------


async def test_callback_canary(stub, make_client, draft_host, clip_path):
    canary = await stub("127.0.0.2")
    hook = f"{canary.base}/hook"
    did = new_draft_id()
    url = draft_host.add_content(did, tiny_draft(did), {"assets/videos/clip.mp4": clip_path})
    client = await make_client(**DEFAULT_POLICY)
    status, body = await post(client, "/v1/renders", {"draft_url": url, "callback_url": hook})
    assert_forbidden(status, body, "127.0.0.2")
    assert body["error"]["path"] == "$.callback_url" and canary.total == 0

    allowed = await make_client(url_allowlist=("127.0.0.1", "127.0.0.2"), **DEFAULT_POLICY)
    status, body = await post(allowed, "/v1/renders", {"draft_url": url, "callback_url": hook})
    assert status == 202, body
    assert (await allowed.delete(f"/v1/renders/{body['id']}")).status in (200, 202)  # terminal: cancelled
    deadline = time.monotonic() + 30
    while canary.hits["/hook"] == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert canary.hits["/hook"] == 1


# -- the connection goes to the address that was checked ------------------------------------------


class MapResolver(AbstractResolver):
    def __init__(self, table: dict[str, list[str]]):
        self.table = table

    async def resolve(self, host, port=0, family=socket.AF_INET):
        return [
            {"hostname": host, "host": a, "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}
            for a in self.table[host.rstrip(".")]
        ]

    async def close(self):
        pass


async def test_connection_uses_the_checked_address(stub):
    good, other = await stub("127.0.0.3"), await stub("127.0.0.2")
    port = int(good.base.rsplit(":", 1)[1])
    names = MapResolver({"canary.test": ["127.0.0.3"], "mixed.test": ["127.0.0.3", "127.0.0.2"]})
    # allowed by CIDR: the name exists only in our resolver, so reaching the canary proves the
    # TCP connect used the address the guard checked; Host stays the name
    async with EgressClient(EgressPolicy.from_settings(["127.0.0.3/32"]), resolver=names) as c:
        async with c.request("GET", f"http://canary.test:{port}/x") as resp:
            assert resp.status == 200
        assert good.hits["/x"] == 1 and good.hosts[-1] == f"canary.test:{port}"
        with pytest.raises(UrlForbidden, match="127.0.0.2"):  # one forbidden answer refuses the name
            async with c.request("GET", f"http://mixed.test:{port}/y"):
                pass
    async with EgressClient(EgressPolicy(), resolver=names) as c:
        with pytest.raises(UrlForbidden, match="host canary.test resolves to a loopback address"):
            async with c.request("GET", f"http://canary.test:{port}/z"):
                pass
    assert good.hits["/y"] == good.hits["/z"] == 0 and other.total == 0


# -- no bytes of a fetched body in any error ---------------------------------------------------------


async def _raw_server(host: str, reply: bytes):
    async def handle(reader, writer):
        await reader.read(1024)
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, host, 0)
    return server, server.sockets[0].getsockname()[1]


async def test_error_messages_carry_no_response_text(stub, tmp_path):
    did = new_draft_id()

    async def status_500(_r):
        return web.Response(status=500, text=SECRET)

    s = await stub(
        "127.0.0.1",
        {
            "/html": lambda r: _text(SECRET),
            "/code": json_handler({"code": 7, "message": SECRET}),
            "/500": status_500,
            "/weird": json_handler({"code": SECRET}),
        },
    )
    errors = []
    for path in ("/html", "/code", "/500", "/weird"):
        with pytest.raises(DraftNotFound) as ei:
            await fetch_draft(f"{s.base}{path}?draft_id={did}", tmp_path, limits=FAST)
        errors.append(ei.value)
    server, port = await _raw_server("127.0.0.1", f"{SECRET} 200 OK\r\nX: {SECRET}\r\n\r\n".encode())
    try:
        with pytest.raises(DraftNotFound) as ei:
            await fetch_draft(f"http://127.0.0.1:{port}/g?draft_id={did}", tmp_path, limits=FAST)
        errors.append(ei.value)
        local = LocalDraft("d", tmp_path, tmp_path / "draft_content.json", "test")
        with pytest.raises(AssetUnreachable) as ei:
            await fetch_materials(local, [f"http://127.0.0.1:{port}/m.mp4"], limits=FAST)
        errors.append(ei.value)
    finally:
        server.close()
    userinfo = s.base.replace("http://", "http://agent:pa55word@")
    with pytest.raises(AssetUnreachable) as ei:
        await fetch_materials(LocalDraft("d", tmp_path, tmp_path / "x.json", "t"), [f"{userinfo}/500"], limits=FAST)
    errors.append(ei.value)
    assert "pa55word" not in str(ei.value) and "agent" not in str(ei.value)
    for err in errors:
        assert SECRET not in str(err) and SECRET not in json.dumps(err.detail()), err
    assert "HTTP 500" in str(errors[2]) and "code 7" in str(errors[1]) and "HTTP 500" in str(errors[-1])


async def _text(body: str) -> web.Response:
    return web.Response(text=body)


async def test_job_error_message_carries_no_response_text(stub, make_client, draft_host):
    """The issue's report: an internal page's text in gen_video_status.error_message."""
    did = new_draft_id()
    s = await stub("127.0.0.1", {"/get_draft": lambda r: _text(f"<html>{SECRET}</html>")})
    canary = await stub("127.0.0.2")
    did2 = new_draft_id()
    url2 = draft_host.add_content(did2, tiny_draft(did2, video=f"{canary.base}/clip.mp4"))
    client = await make_client(concurrency=1, submit_check="off", lease_s=30.0, **DEFAULT_POLICY)
    url = f"{s.base}/get_draft?draft_id={did}"
    for u in (url, url2):
        assert (await post(client, f"{CM}/gen_video", {"draft_url": u}))[1]["code"] == 0
    states = {}
    deadline = time.monotonic() + 120
    while len(states) < 2 and time.monotonic() < deadline:
        for u in (url, url2):
            st = (await post(client, f"{CM}/gen_video_status", {"draft_url": u}))[1]
            if st["status"] == "failed":
                states[u] = st
        await asyncio.sleep(0.1)
    assert states[url]["error_code"] == "INVALID_DRAFT_URL" or states[url]["error_code"] == "DRAFT_NOT_FOUND"
    assert SECRET not in json.dumps(states[url], ensure_ascii=False)
    assert states[url2]["error_code"] == "URL_FORBIDDEN", states[url2]  # the material on the canary
    assert "127.0.0.2" in states[url2]["error_message"] and canary.total == 0


# -- download deadline and minimum throughput; unparseable URLs -------------------------------------


def _slow(interval_s: float, size: int = 1000):
    """Announces ``size`` bytes, then sends one byte every ``interval_s``."""

    async def h(request):
        resp = web.StreamResponse(headers={"Content-Length": str(size)})
        await resp.prepare(request)
        last = -interval_s
        sent = 0
        start = time.monotonic()
        while sent < size and time.monotonic() - start < 60:
            if request.transport is None or request.transport.is_closing():
                break
            if time.monotonic() - last >= interval_s:
                last = time.monotonic()
                await resp.write(b"x")
                sent += 1
            await asyncio.sleep(0.02)
        return resp

    return h


async def test_one_byte_per_5s_fails_within_the_deadline(stub, tmp_path):
    s = await stub("127.0.0.1", {"/slow": _slow(5.0), "/trickle": _slow(0.05)})
    local = LocalDraft("d", tmp_path, tmp_path / "draft_content.json", "test")
    deadline_only = FetchLimits(retries=3, backoff_s=0.01, deadline_s=1.0, min_bytes_per_s=0)
    with pytest.raises(AssetUnreachable, match=r"did not finish within 1 s"):
        await fetch_materials(local, [f"{s.base}/slow"], limits=deadline_only)
    rate = FetchLimits(
        retries=3, backoff_s=0.01, deadline_s=60, min_bytes_per_s=100, rate_window_s=0.4, rate_grace_s=0.4
    )
    with pytest.raises(AssetUnreachable, match=r"less than 100 bytes/s"):
        await fetch_materials(local, [f"{s.base}/trickle"], limits=rate)
    assert s.hits["/slow"] == 1 and s.hits["/trickle"] == 1  # too slow is final, not retried
    with pytest.raises(DraftNotFound, match="less than 100 bytes/s"):  # the listing too
        await fetch_draft(f"{s.base}/trickle?draft_id={new_draft_id()}", tmp_path, limits=rate)


async def test_unparseable_urls_are_not_retried(stub, tmp_path):
    did = new_draft_id()
    s = await stub("127.0.0.1")
    s.routes["/get_draft"] = json_handler(
        {
            "code": 0,
            "files": [
                f"{s.base}/output/draft/{did}/draft_content.json",
                f"http://127.0.0.1:99999/output/draft/{did}/a.mp4",
            ],
        }
    )
    limits = FetchLimits(retries=6, backoff_s=30, max_backoff_s=30)  # a retry would wait 30 s
    with pytest.raises(AssetUnreachable, match="not a valid URL") as ei:
        await fetch_draft(f"{s.base}/get_draft?draft_id={did}", tmp_path, limits=limits)
    assert "attempts" not in str(ei.value)
    local = LocalDraft("d", tmp_path, tmp_path / "draft_content.json", "test")
    with pytest.raises(AssetUnreachable, match="not a valid URL"):
        await fetch_materials(local, ["http://exa mple.com/x.mp4"], limits=limits)
    with pytest.raises(AssetUnreachable, match="not a valid URL"):  # a bad redirect Location
        s.routes["/bad"] = redirect_to("http://[::1/")
        await fetch_materials(local, [f"{s.base}/bad"], limits=limits)
    assert s.hits["/bad"] == 1


# -- sticker and canvas images ---------------------------------------------------------------------


async def test_sticker_and_canvas_image_canary(stub, tmp_path):
    from compositor import RenderOptions, open_draft
    from fixtures.media import make_video
    from tests.draft_helpers import minimal_draft, segment, track, video_material

    canary = await stub("127.0.0.2")
    vid = make_video(tmp_path / "v.mp4", w=64, h=64, dur_s=0.5, color=(255, 0, 0))
    sticker = segment("S", "st", 0, 500_000, render_index=5)
    sticker["source_timerange"] = None
    draft = minimal_draft(
        width=160,
        height=90,
        videos=[video_material("v", 64, 64) | {"path": str(vid)}],
        stickers=[{"id": "st", "type": "sticker", "resource_id": "111"}],
        canvases=[{"id": "c", "type": "canvas_image", "image": f"{canary.base}/bg.png"}],
        tracks=[track("v", "video", [segment("V", "v", 0, 500_000, refs=["c"])]), track("s", "sticker", [sticker])],
    )
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "draft_content.json").write_text(json.dumps(draft))
    table = {"111": f"{canary.base}/sticker.png"}

    def open_with(policy):
        return open_draft(tmp_path / "d", RenderOptions(egress=policy, sticker_table=table, fetch_limits=FAST))

    loop = asyncio.get_running_loop()
    session = await loop.run_in_executor(None, open_with, server_policy())
    assert canary.total == 0  # left out, never fetched
    assert any(w.kind == "sticker" for w in session.warnings)
    await loop.run_in_executor(None, open_with, server_policy(url_allowlist=("127.0.0.2",)))
    assert canary.hits["/sticker.png"] == 1 and canary.hits["/bg.png"] == 1


# -- a callback_url refused at delivery time ---------------------------------------------------------


class _Store:
    """The store calls WebhookSender makes for one delivery."""

    def __init__(self, job):
        self.job = job
        self.states: list[tuple[str, int]] = []

    async def get(self, job_id):
        return self.job

    async def set_webhook_state(self, job_id, state, attempts):
        self.states.append((state, attempts))

    async def take_webhook(self, job_id, holder, ttl_s):
        return True


async def test_callback_refused_at_delivery_is_not_retried(stub):
    """The callback's name resolves to an internal address only at delivery (DNS rebinding
    after the submission check): refused by the resolver, no request, no retry."""
    from types import SimpleNamespace

    from server.webhooks import WebhookSender

    canary = await stub("127.0.0.2")
    port = canary.base.rsplit(":", 1)[1]
    job = SimpleNamespace(
        id="j1",
        state="completed",
        webhook_state="pending",
        webhook_attempts=0,
        callback_url=f"http://hooks.test:{port}/hook",
    )
    store = _Store(job)
    settings = Settings(**{**TEST_DEFAULTS, **DEFAULT_POLICY, "webhook_retries": 3})
    async with EgressClient(egress_policy(settings), resolver=MapResolver({"hooks.test": ["127.0.0.2"]})) as c:
        sender = WebhookSender(settings, store, c, lambda j: b"{}")
        await sender._deliver("j1")
    assert store.states == [("failed", 1)] and canary.total == 0
