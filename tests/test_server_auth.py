"""Authentication and ownership (``server.auth``): the auth matrix over every route of the app
(two keys, anonymous, an unknown key, an admin key; four key carriers), per-owner idempotency,
signed file links, the bind rule, JSON-only bodies, CORS, the job store's owner filters and
its schema migration, and the seed's polling client through a ``/k/<key>/`` base URL."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import stat
import time
from urllib.parse import quote

import pytest
import requests
from yarl import URL

from server import __main__ as server_main
from server.auth import (
    ANONYMOUS_KEY_ID,
    ADMIN_ROUTES,
    FILE_ROUTES,
    GATE,
    PUBLIC_ROUTES,
    KeyRing,
    LinkSigner,
    configured_keys,
    is_loopback_host,
    load_or_create_secret,
    startup_check,
)
from server.jobs import sqlite as sqlite_store
from server.jobs.model import KIND_CAPCUT, KIND_NATIVE, NewJob, RenderSpec
from server.jobs.sqlite import SqliteJobStore
from server.openapi import build_spec
from server.routes_capcut import idem_key
from server.settings import Settings
from server.state import STORAGE, STORE
from tests.server_fixtures import clip_path, draft_host, make_client, new_draft_id  # noqa: F401 - fixtures
from tests.server_helpers import tiny_draft

CM = "/openapi/capcut-mate/v1"
KEY_A = "alpha key/with:odd#chars"  # keys are opaque: not UUIDs, any characters
KEY_B = "bravo-2"
KEY_ADMIN = "admin-key-3"
KEY_UNKNOWN = "not-a-configured-key"
WORKER = "test-worker"
RESULT = {
    "width": 160,
    "height": 90,
    "fps": "30/1",
    "frames": 30,
    "duration_us": 1_000_000,
    "size_bytes": 0,
    "elapsed_s": 0.1,
    "poster": True,
}
VIDEO_BYTES = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 4


def keyed(draft_host, **kw) -> dict:
    return dict(
        api_keys=(KEY_A, KEY_B),
        admin_keys=(KEY_ADMIN,),
        submit_check="off",
        url_allowlist=(f"127.0.0.1:{draft_host.port}",),
        **kw,
    )


class Seeded:
    """Jobs of owner A in a started app: one completed (with files), one queued (to cancel)."""

    def __init__(self, done_id: str, queued_id: str, url_a: str):
        self.done_id, self.queued_id, self.url_a = done_id, queued_id, url_a


async def seed(client, draft_host, clip_path, owner_key: str | None = KEY_A) -> Seeded:
    app = client.server.app
    store, storage = app[STORE], app[STORAGE]
    owner = app[GATE].keyring.key_id(owner_key) if owner_key else ANONYMOUS_KEY_ID
    did = new_draft_id()
    url = draft_host.add_content(did, tiny_draft(did), {"assets/videos/clip.mp4": clip_path})
    done = (
        await store.submit(
            NewJob(
                kind=KIND_CAPCUT,
                spec=RenderSpec(crf=40),
                draft_url=url,
                draft_id=did,
                idem_key=idem_key(url),
                key_id=owner,
            )
        )
    ).job
    claimed = await store.claim(WORKER, 60.0)
    assert claimed is not None and claimed.id == done.id
    storage.video_path(done.id).write_bytes(VIDEO_BYTES)
    storage.poster_path(done.id).write_bytes(b"\xff\xd8\xff\xe0fake-jpeg")
    assert await store.complete(done.id, WORKER, {**RESULT, "size_bytes": len(VIDEO_BYTES)})
    queued = (
        await store.submit(NewJob(kind=KIND_NATIVE, spec=RenderSpec(), draft_url=url, draft_id=did, key_id=owner))
    ).job
    return Seeded(done.id, queued.id, url)


# -- every route of the app ----------------------------------------------------------------------


def routes_of(app) -> list[tuple[str, str]]:
    """(method, route name) of every route the app serves."""
    out = []
    for route in app.router.routes():
        assert route.name, f"route {route.method} {route.resource.canonical} has no name"
        out.append((route.method, route.name))
    return sorted(set(out))


def request_for(name: str, s: Seeded) -> tuple[str, dict | None]:
    """A meaningful request of each route: (path, JSON body). A new route fails here until added."""
    table = {
        "gen_video": (f"{CM}/gen_video", {"draft_url": s.url_a}),
        "gen_video_status": (f"{CM}/gen_video_status", {"draft_url": s.url_a}),
        "gen_video_active_count": (f"{CM}/gen_video_active_count", None),
        "create_render": ("/v1/renders", {"draft_url": s.url_a}),
        "list_renders": ("/v1/renders", None),
        "get_render": (f"/v1/renders/{s.done_id}", None),
        "cancel_render": (f"/v1/renders/{s.queued_id}", None),
        "render_events": (f"/v1/renders/{s.done_id}/events", None),
        "render_video": (f"/v1/renders/{s.done_id}/video.mp4", None),
        "render_poster": (f"/v1/renders/{s.done_id}/poster.jpg", None),
        "openapi": ("/openapi.json", None),
        "docs": ("/docs", None),
        "docs_static": ("/docs/static/swagger-ui.css", None),
        "healthz": ("/healthz", None),
        "metrics": ("/metrics", None),
        "probe": ("/v1/probe", {"draft_url": s.url_a}),
        "stats": ("/v1/stats", None),
        "list_workers": ("/v1/workers", None),
        "console": ("/", None),
        "console_static": ("/static/console/console.js", None),
    }
    assert name in table, f"route {name!r} is not in the auth matrix: add it (and decide who may call it)"
    return table[name]


#: routes whose answer depends on owning one particular job of A
JOB_ROUTES = frozenset({"get_render", "cancel_render", "render_events", "render_video", "render_poster"})


def carriers(key: str) -> dict[str, tuple[str, dict]]:
    """How a key travels: (path prefix, headers)."""
    return {
        "X-API-Key": ("", {"X-API-Key": key}),
        "Bearer": ("", {"Authorization": f"Bearer {key}"}),
        "/k/ prefix": (f"/k/{quote(key, safe='')}", {}),
    }


async def call(client, method: str, path: str, body, headers: dict) -> tuple[int, dict | None]:
    resp = await client.request(method, path, json=body, headers=headers)
    raw = await resp.read()
    data = None
    if raw and resp.content_type == "application/json" and method != "HEAD":
        data = await resp.json()
    return resp.status, data


def expectation(caller: str, name: str) -> tuple[set[int], str | None]:
    """(allowed statuses, error code) of ``caller`` on route ``name`` (A owns the seeded jobs)."""
    if name in PUBLIC_ROUTES:
        return {200}, None
    if caller == "anonymous":
        return {401}, "UNAUTHORIZED"
    if caller == "unknown":
        return {401}, "INVALID_API_KEY"
    if caller == "B" and name in JOB_ROUTES:
        return {404}, "NOT_FOUND"
    if caller in ("A", "B") and name in ADMIN_ROUTES:
        return {403}, "FORBIDDEN"
    return {200, 202}, None


@pytest.mark.asyncio
async def test_auth_matrix_over_every_route(make_client, draft_host, clip_path):
    client = await make_client(**keyed(draft_host))
    app = client.server.app
    s = await seed(client, draft_host, clip_path)
    routes = routes_of(app)
    names = {n for _, n in routes}
    assert PUBLIC_ROUTES | FILE_ROUTES <= names and len(routes) >= 15
    callers = [
        ("anonymous", "", {}),
        *[("unknown", p, h) for p, h in carriers(KEY_UNKNOWN).values()],
        *[("B", p, h) for p, h in carriers(KEY_B).values()],  # B first: A's job still queued
        *[("A", p, h) for p, h in carriers(KEY_A).values()],
        *[("admin", p, h) for p, h in carriers(KEY_ADMIN).values()],
    ]
    failures = []
    for caller, prefix, headers in callers:
        for method, name in routes:
            path, body = request_for(name, s)
            status, data = await call(client, method, prefix + path, body if method == "POST" else None, headers)
            allowed, code = expectation(caller, name)
            got_code = (data.get("error") or {}).get("code") if isinstance(data, dict) else None
            if status not in allowed or (code is not None and method != "HEAD" and got_code != code):
                failures.append(
                    f"{caller} via {prefix or headers} {method} {path}: {status} {got_code}, expected {allowed} {code}"
                )
            if caller == "B" and status < 400 and (s.done_id in str(data) or s.queued_id in str(data)):
                failures.append(f"B via {prefix or headers} {method} {path}: the answer names A's job")
    assert not failures, "\n".join(failures)


@pytest.mark.asyncio
async def test_error_shape_and_challenge_of_401(make_client, draft_host):
    client = await make_client(**keyed(draft_host))
    resp = await client.get("/v1/renders")
    data = await resp.json()
    assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert data["code"] == 2036 and data["error"]["code"] == "UNAUTHORIZED" and data["message"]
    resp = await client.get("/v1/renders", headers={"Accept-Language": "en", "X-API-Key": KEY_UNKNOWN})
    data = await resp.json()
    assert (
        resp.status == 401
        and data["error"]["code"] == "INVALID_API_KEY"
        and data["message"] == "Invalid apiKey(the API key is not one this server accepts)"
    )
    # unknown routes need a key too (no route discovery), and give 404 with one
    assert (await client.get("/nope")).status == 401
    assert (await client.get("/nope", headers={"X-API-Key": KEY_A})).status == 404
    assert (await client.get(f"/k/{KEY_B}/nope")).status == 404


@pytest.mark.asyncio
async def test_key_prefix_details(make_client, draft_host, clip_path):
    client = await make_client(**keyed(draft_host))
    s = await seed(client, draft_host, clip_path)
    prefix = f"/k/{quote(KEY_A, safe='')}"
    # the query string survives; the body too, with Expect: 100-continue
    resp = await client.get(f"{prefix}/v1/renders?limit=1&state=queued")
    assert resp.status == 200 and [j["id"] for j in (await resp.json())["items"]] == [s.queued_id]
    resp = await client.post(f"{prefix}{CM}/gen_video_status", json={"draft_url": s.url_a}, expect100=True)
    assert resp.status == 200 and (await resp.json())["task_id"] == s.done_id
    # one prefix only; an empty or unterminated one is no key
    assert (await client.get(f"{prefix}{prefix}/v1/renders")).status == 404
    assert (await client.get("/k//v1/renders")).status == 401
    assert (await client.get(prefix)).status == 401
    # a header wins over the prefix, and must then be valid itself
    assert (await client.get(f"{prefix}/v1/renders", headers={"X-API-Key": KEY_UNKNOWN})).status == 401
    resp = await client.get(f"/k/{KEY_UNKNOWN}/v1/renders/{s.done_id}", headers={"X-API-Key": KEY_A})
    assert resp.status == 200


@pytest.mark.asyncio
async def test_body_api_key_carrier_on_capcut_routes(make_client, draft_host, clip_path):
    client = await make_client(**keyed(draft_host))
    s = await seed(client, draft_host, clip_path)
    resp = await client.post(f"{CM}/gen_video_status", json={"draft_url": s.url_a, "apiKey": KEY_A})
    st = await resp.json()
    assert resp.status == 200 and st["task_id"] == s.done_id and st["status"] == "completed"
    resp = await client.post(f"{CM}/gen_video_status", json={"draft_url": s.url_a, "apiKey": KEY_B})
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "TASK_NOT_FOUND"
    resp = await client.post(f"{CM}/gen_video", json={"draft_url": s.url_a, "apiKey": KEY_UNKNOWN})
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "INVALID_API_KEY"
    # with keys configured, apiKey is an opaque key (capcut-mate's UUID rule is for key-less servers)
    resp = await client.post(f"{CM}/gen_video", json={"draft_url": s.url_a, "apiKey": KEY_A})
    assert resp.status == 200 and (await resp.json())["code"] == 0
    # the body carrier is capcut-mate's: the native API does not read it
    resp = await client.post("/v1/renders", json={"draft_url": s.url_a, "apiKey": KEY_A})
    assert resp.status == 401


@pytest.mark.asyncio
async def test_ownership_lists_counts_idempotency_and_admin(make_client, draft_host, clip_path):
    client = await make_client(**keyed(draft_host))
    s = await seed(client, draft_host, clip_path)
    a, b, admin = ({"X-API-Key": k} for k in (KEY_A, KEY_B, KEY_ADMIN))
    did = new_draft_id()
    url = draft_host.add_content(did, tiny_draft(did))

    # the same draft from two keys: two jobs; each key's re-POST returns its own
    ja = await (await client.post(f"{CM}/gen_video", json={"draft_url": url}, headers=a)).json()
    jb = await (await client.post(f"{CM}/gen_video", json={"draft_url": url}, headers=b)).json()
    assert ja["task_id"] != jb["task_id"]
    assert (await (await client.post(f"{CM}/gen_video", json={"draft_url": url}, headers=a)).json())["task_id"] == ja[
        "task_id"
    ]
    st = await (await client.post(f"{CM}/gen_video_status", json={"draft_url": url}, headers=b)).json()
    assert st["task_id"] == jb["task_id"]
    # native Idempotency-Key is per key as well
    h = {"Idempotency-Key": "same"}
    ra = await (await client.post("/v1/renders", json={"draft_url": url}, headers={**a, **h})).json()
    rb = await (await client.post("/v1/renders", json={"draft_url": url}, headers={**b, **h})).json()
    assert ra["id"] != rb["id"]

    async def ids(headers):
        return {j["id"] for j in (await (await client.get("/v1/renders", headers=headers)).json())["items"]}

    assert await ids(a) == {s.done_id, s.queued_id, ja["task_id"], ra["id"]}
    assert await ids(b) == {jb["task_id"], rb["id"]}
    assert await ids(admin) == await ids(a) | await ids(b)

    async def active(headers):
        return (await (await client.get(f"{CM}/gen_video_active_count", headers=headers)).json())["count"]

    assert (await active(a), await active(b), await active(admin)) == (3, 2, 5)
    # B cannot cancel A's job (404: existence not revealed); the admin can
    assert (await client.delete(f"/v1/renders/{s.queued_id}", headers=b)).status == 404
    assert (await client.app[STORE].get(s.queued_id)).state == "queued"
    resp = await client.delete(f"/v1/renders/{s.queued_id}", headers=admin)
    assert resp.status == 200 and (await resp.json())["state"] == "cancelled"
    assert await active(a) == 2


# -- signed links ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_signed_links(make_client, draft_host, clip_path):
    client = await make_client(**keyed(draft_host, link_ttl_s=3600.0))
    app = client.server.app
    s = await seed(client, draft_host, clip_path)
    job = await (await client.get(f"/v1/renders/{s.done_id}", headers={"X-API-Key": KEY_A})).json()
    video, poster = URL(job["video_url"]), URL(job["poster_url"])
    assert set(video.query) == {"expires", "sig"} and job["links"]["video"] == job["video_url"]
    assert 3600 <= int(video.query["expires"]) - time.time() <= 3600 + 37
    assert KEY_A not in job["video_url"]

    # valid: no key needed, whole and by range, HEAD too
    resp = await client.get(video.path_qs)
    assert resp.status == 200 and await resp.read() == VIDEO_BYTES
    assert resp.headers["Cache-Control"].startswith("private")  # no shared cache keeps a keyed answer
    resp = await client.get(video.path_qs, headers={"Range": "bytes=4-11"})
    assert resp.status == 206 and await resp.read() == VIDEO_BYTES[4:12]
    assert (await client.head(video.path_qs)).status == 200
    assert (await client.get(poster.path_qs)).status == 200

    signer = app[GATE].links
    expires, sig = int(video.query["expires"]), video.query["sig"]
    past = int(time.time()) - 5
    refused = {
        "altered sig": video.with_query(expires=expires, sig=sig[:-1] + ("0" if sig[-1] != "0" else "1")),
        "extended expiry": video.with_query(expires=expires + 3600, sig=sig),
        "another file's sig": video.with_query(poster.query),
        "expired": video.with_query(expires=past, sig=signer.signature(video.path, past)),
        "sig only": video.with_query(sig=sig),
        "not a number": video.with_query(expires="soon", sig=sig),
    }
    for what, url in refused.items():
        resp = await client.get(url.path_qs)
        data = await resp.json()
        assert resp.status == 403 and data["error"]["code"] == "LINK_INVALID", what
        # the owner's (or an admin's) key still opens it; another key gets 404
        assert (await client.get(url.path_qs, headers={"X-API-Key": KEY_A})).status == 200, what
        assert (await client.get(url.path_qs, headers={"X-API-Key": KEY_ADMIN})).status == 200, what
        assert (await client.get(url.path_qs, headers={"X-API-Key": KEY_B})).status == 404, what
    # unsigned: a key is needed like on any route
    assert (await client.get(video.path)).status == 401
    assert (await client.get(video.path, headers={"Authorization": f"Bearer {KEY_A}"})).status == 200
    # a signature opens only the file routes, never a job's JSON
    assert (await client.get(URL(f"/v1/renders/{s.done_id}").with_query(video.query).path_qs)).status == 401


def test_link_signer_is_stable_and_expires():
    now = [1_000_000.0]
    signer = LinkSigner(b"k" * 32, 7 * 86400.0, clock=lambda: now[0])
    q1 = signer.query("/v1/renders/x/video.mp4")
    now[0] += 5
    assert signer.query("/v1/renders/x/video.mp4") == q1  # same link for repeated answers
    query = dict(p.split("=") for p in q1.split("&"))
    assert int(query["expires"]) - 1_000_000 >= 7 * 86400
    assert signer.check("/v1/renders/x/video.mp4", query)
    assert not signer.check("/v1/renders/y/video.mp4", query)
    now[0] = int(query["expires"]) + 1
    assert not signer.check("/v1/renders/x/video.mp4", query)


@pytest.mark.asyncio
async def test_without_keys_links_are_signed_and_files_stay_open(make_client, draft_host, clip_path):
    client = await make_client(url_allowlist=(f"127.0.0.1:{draft_host.port}",), submit_check="off")
    s = await seed(client, draft_host, clip_path, owner_key=None)
    job = await (await client.get(f"/v1/renders/{s.done_id}")).json()
    assert "sig=" in job["video_url"]
    assert (await client.get(f"/v1/renders/{s.done_id}/video.mp4")).status == 200
    assert (await client.get(f"/v1/renders/{s.done_id}")).status == 200
    # capcut-mate's UUID rule for apiKey stays on key-less servers
    resp = await client.post(f"{CM}/gen_video_status", json={"draft_url": s.url_a, "apiKey": "nope"})
    assert resp.status == 200  # gen_video_status has no apiKey field: unaffected
    resp = await client.post(f"{CM}/gen_video", json={"draft_url": s.url_a, "apiKey": "nope"})
    assert resp.status == 400 and (await resp.json())["error"]["path"] == "$.apiKey"


def test_server_secret_is_created_private_and_reused(tmp_path):
    first = load_or_create_secret(tmp_path)
    path = tmp_path / "server.secret"
    assert len(first) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(tmp_path) == first
    path.write_text("garbage\n")
    with pytest.raises(RuntimeError, match="not a secret"):
        load_or_create_secret(tmp_path)


def test_key_ids_are_not_the_keys_and_lookup_is_exact():
    ring = KeyRing(("k1", "k2"), ("root",), b"s" * 32)
    assert ring.configured and len(ring) == 3
    kid = ring.key_id("k1")
    assert "k1" not in kid and len(kid) == 32 and kid != ring.key_id("k2")
    assert ring.identify("k1").key_id == kid and not ring.identify("k1").admin
    assert ring.identify("root").admin and ring.identify("root").scope is None
    for wrong in ("k", "k1 ", "K1", "", "k1k1"):
        assert ring.identify(wrong) is None
    assert KeyRing((), (), b"s" * 32).key_id("k1") != KeyRing((), (), b"t" * 32).key_id("k1")


@pytest.mark.asyncio
async def test_keys_never_reach_the_log(make_client, draft_host, clip_path, caplog):
    caplog.set_level(logging.DEBUG)
    client = await make_client(**keyed(draft_host))
    s = await seed(client, draft_host, clip_path)
    await client.get(f"/k/{KEY_UNKNOWN}/v1/renders")
    await client.get("/v1/renders", headers={"X-API-Key": KEY_B})
    await client.post(f"{CM}/gen_video", json={"draft_url": s.url_a, "apiKey": KEY_A})
    # the service's own log (an HTTP access log, off in ``python -m server``, records paths)
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("aiohttp.access"))
    assert "API keys required" in text
    for key in (KEY_A, KEY_B, KEY_ADMIN, KEY_UNKNOWN):
        assert key not in text


# -- settings and the bind rule ------------------------------------------------------------------------


def test_keys_from_flags_environment_and_file(tmp_path):
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("# team keys\nfile-key-1\n\n  file key 2  \n#old-key\n")
    s = Settings.from_sources(
        [
            "--api-keys-file",
            str(keys_file),
            "--admin-keys",
            "root",
            "--link-ttl",
            "60",
            "--cors-origins",
            "https://app.example,https://b.example",
        ],
        {"DRAFT_SERVER_API_KEYS": "env-1, env-2", "DRAFT_SERVER_NO_AUTH": "no"},
    )
    assert configured_keys(s) == (("env-1", "env-2", "file-key-1", "file key 2"), ("root",))
    assert s.link_ttl_s == 60.0 and s.cors_origins == ("https://app.example", "https://b.example")
    assert Settings.from_sources([], {"DRAFT_SERVER_LINK_TTL": "120"}).link_ttl_s == 120.0
    d = Settings.from_sources([], {})
    assert d.link_ttl_s == 7 * 86400 and d.cors_origins == () and not d.no_auth and d.api_keys_file is None


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("render.example", False),
    ],
)
def test_loopback_classification(host, loopback):
    assert is_loopback_host(host) is loopback


def test_startup_check(tmp_path):
    public = Settings(host="0.0.0.0", data_dir=str(tmp_path))
    refusal = startup_check(public).refusal
    assert refusal and "\n" not in refusal and "--api-keys" in refusal and "--no-auth" in refusal
    open_ = startup_check(public.replace(no_auth=True))
    assert open_.refusal is None and "open to anyone" in open_.warning
    assert startup_check(public.replace(api_keys=("k",))) == (None, None)
    assert startup_check(public.replace(admin_keys=("k",))) == (None, None)
    assert startup_check(public.replace(api_keys=("k",), no_auth=True)).refusal
    assert startup_check(Settings(data_dir=str(tmp_path))) == (None, None)  # loopback stays open
    assert startup_check(Settings(host="::1", data_dir=str(tmp_path))) == (None, None)
    assert startup_check(Settings(data_dir=str(tmp_path), require_api_key=True)).refusal
    empty = tmp_path / "keys"
    empty.write_text("# none yet\n")
    assert "holds no key" in startup_check(public.replace(api_keys_file=str(empty))).refusal
    assert "cannot read" in startup_check(public.replace(api_keys_file=str(tmp_path / "missing"))).refusal


def test_main_refuses_a_public_address_without_keys(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        server_main.main(["--host", "0.0.0.0", "--data-dir", str(tmp_path / "d")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refusing to listen" in err
    assert not (tmp_path / "d").exists()  # nothing started


# -- cross-site rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        {"data": "draft_url=x"},
        {"data": b'{"draft_url": "x"}', "headers": {"Content-Type": "text/plain"}},
        {"data": b'{"draft_url": "x"}'},
    ],
)
@pytest.mark.asyncio
async def test_post_bodies_must_be_json(make_client, kw):
    client = await make_client()
    for path in (f"{CM}/gen_video", f"{CM}/gen_video_status", "/v1/renders"):
        resp = await client.post(path, **kw)
        data = await resp.json()
        assert resp.status == 415 and data["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE" and data["code"] == 1001


@pytest.mark.asyncio
async def test_anonymous_hostile_bodies_get_4xx_not_500(make_client, draft_host):
    # the body's apiKey is looked for only in a body the route would accept (size, nesting)
    client = await make_client(**keyed(draft_host, max_body_bytes=4096))
    deep = '{"draft_url": "x", "apiKey": ' + "[" * 5000 + "]" * 5000 + "}"
    big = '{"draft_url": "' + "a" * 8000 + '"}'
    for body, status in ((deep, 401), (big, 401)):
        resp = await client.post(f"{CM}/gen_video", data=body, headers={"Content-Type": "application/json"})
        assert resp.status == status, (resp.status, await resp.text())


@pytest.mark.asyncio
async def test_no_cors_headers_by_default(make_client):
    client = await make_client()
    origin = {"Origin": "https://evil.example"}
    resp = await client.get("/healthz", headers=origin)
    assert resp.status == 200 and not any(h.lower().startswith("access-control-") for h in resp.headers)
    resp = await client.options(f"{CM}/gen_video", headers={**origin, "Access-Control-Request-Method": "POST"})
    assert resp.status == 405 and not any(h.lower().startswith("access-control-") for h in resp.headers)


@pytest.mark.asyncio
async def test_cors_only_for_configured_origins(make_client, draft_host):
    client = await make_client(**keyed(draft_host, cors_origins=("https://app.example",)))
    pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"}
    resp = await client.options(f"{CM}/gen_video", headers={"Origin": "https://app.example", **pre})
    assert resp.status == 204 and "X-API-Key" in resp.headers["Access-Control-Allow-Headers"]
    resp = await client.options(f"{CM}/gen_video", headers={"Origin": "https://evil.example", **pre})
    assert "Access-Control-Allow-Origin" not in resp.headers
    resp = await client.get("/v1/renders", headers={"Origin": "https://app.example", "X-API-Key": KEY_A})
    assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == "https://app.example"
    resp = await client.get("/v1/renders", headers={"Origin": "https://evil.example", "X-API-Key": KEY_A})
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_openapi_describes_the_security_schemes():
    spec = build_spec()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["Bearer"]["scheme"] == "bearer"
    assert spec["paths"]["/healthz"]["get"]["security"] == []
    assert {"ApiKeyHeader": []} in spec["security"]


# -- the job store ---------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_store_owner_filters(tmp_path):
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    await store.open()
    try:
        new = dict(kind=KIND_CAPCUT, spec=RenderSpec(), draft_id="D", idem_key="k")
        a = (await store.submit(NewJob(**new, key_id="A"))).job
        b = (await store.submit(NewJob(**new, key_id="B"))).job
        assert a.id != b.id and (a.key_id, b.key_id) == ("A", "B")  # idempotency per owner
        assert (await store.submit(NewJob(**new, key_id="A"))).job.id == a.id
        assert await store.get(a.id, key_id="B") is None and (await store.get(a.id, key_id="A")).id == a.id
        assert (await store.get(a.id)).id == a.id
        assert (await store.get_by_key("k", key_id="B")).id == b.id
        assert [j.id for j in await store.list(key_id="A")] == [a.id]
        assert len(await store.list()) == 2
        assert (await store.counts(key_id="A"))["queued"] == 1 and (await store.counts())["queued"] == 2
        assert await store.cancel(a.id, key_id="B") is None
        assert (await store.get(a.id)).state == "queued"
        assert (await store.cancel(a.id, key_id="A")).state == "cancelled"
        assert (await store.latest_by_draft_id("D", key_id="A")).id == a.id
        assert await store.latest_by_draft_id("D", key_id="B") is None  # B's is not terminal
        assert await store.latest_by_draft_id("D", key_id="C") is None
    finally:
        await store.close()


def _schema_1() -> str:
    """The schema-1 DDL (before key_id), derived from the current one."""
    ddl = sqlite_store._SCHEMA.replace("    key_id TEXT NOT NULL DEFAULT '',\n", "")
    ddl = ddl.replace("jobs_active_owner_key ON jobs(key_id, idem_key)", "jobs_active_key ON jobs(idem_key)")
    ddl = ddl.replace("jobs_owner_key ON jobs(key_id, idem_key, seq)", "jobs_key ON jobs(idem_key, seq)")
    lines = [ln for ln in ddl.splitlines() if "jobs_owner ON" not in ln and "jobs_owner_state ON" not in ln]
    return "\n".join(lines)


@pytest.mark.asyncio
async def test_store_migrates_a_schema_1_database(tmp_path):
    path = tmp_path / "jobs.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(_schema_1())
    assert "key_id" not in {r[1] for r in conn.execute("PRAGMA table_info(jobs)")}
    conn.execute(
        "INSERT INTO jobs (id, kind, state, phase, spec, idem_key, created_at, updated_at) "
        "VALUES ('old', 'capcut', 'queued', 'queued', '{}', 'k', 1, 1)"
    )
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    store = SqliteJobStore(path)
    await store.open()
    try:
        old = await store.get("old", key_id=ANONYMOUS_KEY_ID)
        assert old is not None and old.key_id == ""
        # the anonymous owner still holds its key; another owner gets its own job
        assert (await store.submit(NewJob(kind=KIND_CAPCUT, spec=RenderSpec(), idem_key="k"))).job.id == "old"
        other = (await store.submit(NewJob(kind=KIND_CAPCUT, spec=RenderSpec(), idem_key="k", key_id="X"))).job
        assert other.id != "old"
    finally:
        await store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == sqlite_store.SCHEMA_VERSION
    conn.close()


# -- the seed's polling client through /k/<key>/ -------------------------------------------------------


@pytest.mark.slow
@pytest.mark.asyncio
async def test_seed_polling_client_through_a_key_prefix(make_client, draft_host, clip_path):
    from tests.test_server_render import VideoGenerator

    client = await make_client(**keyed(draft_host, concurrency=1, lease_s=30.0))  # a busy box keeps its lease
    did = new_draft_id()
    url = draft_host.add_content(did, tiny_draft(did, seconds=1.0), {"assets/videos/clip.mp4": clip_path})
    base = str(client.make_url("")).rstrip("/")
    loop = asyncio.get_running_loop()
    with pytest.raises(requests.HTTPError) as refused:
        await loop.run_in_executor(None, lambda: VideoGenerator(base).generate_video(url, timeout=10))
    assert refused.value.response.status_code == 401
    generator = VideoGenerator(f"{base}/k/{quote(KEY_B, safe='')}")
    result = await loop.run_in_executor(
        None, lambda: generator.generate_video_with_polling(url, poll_interval=1, max_attempts=600)
    )
    assert result["code"] == 0 and result["video_url"].startswith(base + "/v1/renders/")
    assert KEY_B not in result["video_url"]
    video = await loop.run_in_executor(None, lambda: requests.get(result["video_url"], timeout=30))
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    # the job is B's: A does not see it
    assert (await client.get(URL(result["video_url"]).path, headers={"X-API-Key": KEY_A})).status == 404
