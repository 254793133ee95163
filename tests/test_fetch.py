"""Tests of compositor.fetch against an in-process aiohttp server on 127.0.0.1.

The fake server mimics capcut-mate + nginx: ``GET /openapi/capcut-mate/v1/get_draft?draft_id=``
answers ``{"code":0,"message":"成功","files":[absolute URLs]}`` (HTTP 200 ``code 2001`` for an
unknown id) and ``/output/draft/<id>/<rel>`` serves the files. Per-path scripts inject
failures (status codes, Retry-After, truncated bodies, missing Content-Length).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote

import pytest
import pytest_asyncio
from aiohttp import web

from compositor.egress import EgressPolicy
from compositor.egress_client import EgressClient
from compositor.errors import AssetUnreachable, DraftNotFound
from compositor.fetch import (
    FetchLimits,
    LocalDraft,
    draft_id_from_url,
    fetch_draft,
    fetch_draft_sync,
    fetch_materials,
)
from compositor.fetch.listing import rel_path_for as _rel_path_for
from compositor.fetch.retry import backoff_delay as _backoff_delay
from compositor.fetch.sniff import sniff_ext as _sniff_ext

DID = "20261125063317dddcc863"
GET_DRAFT = "/openapi/capcut-mate/v1/get_draft"
FAST = FetchLimits(backoff_s=0.01, max_backoff_s=0.05, retries=6, parallel=4, connect_timeout_s=5, read_timeout_s=5)

# draft_content.json shape as capcut-mate writes it (trimmed): absolute server paths.
CONTENT = {
    "canvas_config": {"width": 1920, "height": 1080, "ratio": "original"},
    "duration": 5000000,
    "materials": {
        "videos": [
            {"id": "v1", "type": "video", "path": f"/app/output/draft/{DID}/assets/videos/2026112506331744a98704.mp4"},
            {"id": "p1", "type": "photo", "path": f"/app/output/draft/{DID}/assets/images/202611250633173a66b2ff.png"},
        ],
        "audios": [
            {
                "id": "a1",
                "type": "extract_music",
                "path": f"/app/output/draft/{DID}/assets/audios/20261125063317438a057b.mp3",
            }
        ],
    },
    "tracks": [],
}
CONTENT_BYTES = json.dumps(CONTENT, ensure_ascii=False, indent=4).encode()


def draft_files() -> dict[str, bytes]:
    """The files get_draft lists for DID (what capcut-mate's folder holds), rel -> bytes."""
    return {
        "draft_info.json": CONTENT_BYTES,
        "template.tmp": b"{}",
        "draft_agency_config.json": b'{"is_auto_agency_enabled":false}',
        "draft_meta_info.json": '{"draft_name":"草稿"}'.encode(),
        "draft_content.json": CONTENT_BYTES,
        "attachment_pc_common.json": b"{}",
        "assets/videos/2026112506331744a98704.mp4": b"\x00\x00\x00\x18ftypisom" + os.urandom(70_000),
        "assets/images/202611250633173a66b2ff.png": b"\x89PNG\r\n\x1a\n" + os.urandom(3000),
        "assets/audios/20261125063317438a057b.mp3": b"ID3\x04" + os.urandom(5000),
        "assets/videos/sub dir/中文 名.mp4": b"nested" * 100,
    }


class Fake:
    """A scripted capcut-mate + nginx."""

    def __init__(self):
        self.files: dict[str, bytes] = draft_files()
        self.extra_urls: list[str] = []  # raw URLs appended to the listing
        self.listing_body: tuple[int, bytes, str] | None = None
        self.scripts: dict[str, list] = defaultdict(list)
        self.hits: Counter = Counter()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.ranges: list[str] = []
        self.no_length: set[str] = set()
        self.media: dict[str, tuple[bytes, str]] = {}
        self.delay = 0.0
        self.inflight = 0
        self.max_inflight = 0
        self.base = ""

    def url(self, rel: str, did: str = DID) -> str:
        return f"{self.base}/output/draft/{did}/{quote(rel)}"

    def draft_url(self, did: str = DID) -> str:
        return f"{self.base}{GET_DRAFT}?draft_id={did}"

    async def _scripted(self, key: str, request):
        """Run the next scripted action for ``key``; a response, "truncate", or None."""
        if not self.scripts[key]:
            return None
        action = self.scripts[key].pop(0)
        if isinstance(action, int):
            return web.Response(status=action, text=f"status {action}")
        if isinstance(action, tuple):
            status, headers = action
            return web.Response(status=status, headers=headers, text=f"status {status}")
        return action

    async def get_draft(self, request):
        self.hits["listing"] += 1
        self.times["listing"].append(time.monotonic())
        r = await self._scripted("listing", request)
        if r is not None:
            return r
        if self.listing_body is not None:
            status, body, ctype = self.listing_body
            return web.Response(status=status, body=body, content_type=ctype)
        did = request.query.get("draft_id", "")
        if did != DID:
            return web.json_response({"code": 2001, "message": "无效的草稿URL"})
        return web.json_response(
            {"code": 0, "message": "成功", "files": [self.url(r) for r in self.files] + self.extra_urls}
        )

    async def file(self, request):
        rel = request.match_info["tail"]
        self.hits[rel] += 1
        self.times[rel].append(time.monotonic())
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            action = await self._scripted(rel, request)
            if isinstance(action, web.StreamResponse):
                return action
            data = self.files.get(rel)
            if data is None:
                raise web.HTTPNotFound()
            if action == "truncate":
                resp = web.StreamResponse()
                resp.content_length = len(data)
                await resp.prepare(request)
                await resp.write(data[: len(data) // 2])
                await asyncio.sleep(0.01)
                request.transport.close()
                return resp
            rng = request.headers.get("Range")
            if rng:
                self.ranges.append(rng)
                start = int(rng.split("=")[1].split("-")[0])
                return web.Response(
                    status=206,
                    body=data[start:],
                    headers={"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"},
                )
            if rel in self.no_length:
                resp = web.StreamResponse()
                resp.enable_chunked_encoding()
                await resp.prepare(request)
                for i in range(0, len(data), 4096):
                    await resp.write(data[i : i + 4096])
                await resp.write_eof()
                return resp
            return web.Response(body=data, content_type="application/octet-stream")
        finally:
            self.inflight -= 1

    async def media_file(self, request):
        name = request.match_info["name"]
        self.hits["media/" + name] += 1
        data, ctype = self.media[name]
        return web.Response(body=data, content_type=ctype)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(GET_DRAFT, self.get_draft)
        app.router.add_get("/output/draft/" + DID + "/{tail:.*}", self.file)
        app.router.add_get("/media/{name}", self.media_file)
        return app


@pytest_asyncio.fixture
async def fake(aiohttp_server):
    f = Fake()
    server = await aiohttp_server(f.app(), host="127.0.0.1")
    f.base = str(server.make_url("")).rstrip("/")
    return f


# ------------------------------------------------------------------------------------------
# fetch_draft from a draft_url
# ------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_happy_path_nested_assets(fake, tmp_path):
    calls = []
    local = await fetch_draft(fake.draft_url(), tmp_path, limits=FAST, progress=lambda d, t: calls.append((d, t)))
    folder = tmp_path / DID
    assert local.draft_id == DID
    assert local.folder == folder
    assert local.content_path == folder / "draft_content.json"
    assert local.source == fake.draft_url()
    for rel, data in fake.files.items():
        assert (folder / rel).read_bytes() == data, rel
    # draft_info.json is not downloaded but copied from draft_content.json
    assert fake.hits["draft_info.json"] == 0
    assert (folder / "draft_info.json").read_bytes() == CONTENT_BYTES
    assert (folder / "assets/videos/sub dir/中文 名.mp4").is_file()
    # no temp files left
    assert not [p for p in folder.rglob("*") if p.name.endswith(".part")]
    # progress: monotone done, last call complete
    expected = sum(len(b) for r, b in fake.files.items() if r != "draft_info.json")
    assert calls and calls[-1] == (expected, expected)
    assert all(d <= t for d, t in calls)
    # every material path of the draft resolves to a downloaded file
    for m in CONTENT["materials"]["videos"] + CONTENT["materials"]["audios"]:
        assert Path(local.resolve_material(m["path"])).is_file()


@pytest.mark.asyncio
async def test_draft_info_only_listing(fake, tmp_path):
    del fake.files["draft_content.json"]
    local = await fetch_draft(fake.draft_url(), tmp_path, limits=FAST)
    assert local.content_path == tmp_path / DID / "draft_info.json"
    assert local.content_path.read_bytes() == CONTENT_BYTES
    assert fake.hits["draft_info.json"] == 1


@pytest.mark.asyncio
async def test_code_2001_is_draft_not_found(fake, tmp_path):
    url = fake.draft_url("20261125063317aaaaaaaa")
    with pytest.raises(DraftNotFound) as ei:
        await fetch_draft(url, tmp_path, limits=FAST)
    assert ei.value.url == url
    assert "2001" in str(ei.value)
    assert "无效的草稿URL" not in str(ei.value)  # the answer's text is never quoted
    assert ei.value.api_code == 2001
    assert fake.hits["listing"] == 1  # business errors are not retried


@pytest.mark.asyncio
async def test_listing_404_is_draft_not_found(fake, tmp_path):
    fake.scripts["listing"] = [404]
    with pytest.raises(DraftNotFound) as ei:
        await fetch_draft(fake.draft_url(), tmp_path, limits=FAST)
    assert ei.value.status == 404 and ei.value.url == fake.draft_url()
    assert fake.hits["listing"] == 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "status, body, ctype, needle",
    [
        (200, b"<html>bad gateway</html>", "text/html", "not JSON"),
        (200, b'{"code":0,"message":"ok"}', "application/json", "files"),
        (200, b'{"code":0,"files":"nope"}', "application/json", "files"),
        (200, b"[1,2]", "application/json", "object"),
        (200, b'{"code":0,"files":[]}', "application/json", "draft_content.json"),
        (403, b"forbidden", "text/plain", "HTTP status"),
    ],
)
async def test_malformed_listing_is_draft_not_found(fake, tmp_path, status, body, ctype, needle):
    fake.listing_body = (status, body, ctype)
    with pytest.raises(DraftNotFound) as ei:
        await fetch_draft(fake.draft_url(), tmp_path, limits=FAST)
    assert needle in str(ei.value)
    assert ei.value.url == fake.draft_url()


@pytest.mark.asyncio
async def test_url_without_draft_id(fake, tmp_path):
    with pytest.raises(DraftNotFound, match="draft_id"):
        await fetch_draft(fake.base + GET_DRAFT + "?x=1", tmp_path, limits=FAST)
    with pytest.raises(DraftNotFound, match="not a valid folder name"):
        await fetch_draft(fake.base + GET_DRAFT + "?draft_id=../../etc", tmp_path, limits=FAST)
    assert fake.hits["listing"] == 0


@pytest.mark.asyncio
async def test_503_twice_then_ok(fake, tmp_path):
    fake.scripts["listing"] = [503, 503]
    fake.scripts["template.tmp"] = [503, 502]
    local = await fetch_draft(fake.draft_url(), tmp_path, limits=FAST)
    assert fake.hits["listing"] == 3
    assert fake.hits["template.tmp"] == 3
    assert (local.folder / "template.tmp").read_bytes() == b"{}"


@pytest.mark.asyncio
async def test_429_retry_after_is_honoured(fake, tmp_path):
    fake.scripts["listing"] = [(429, {"Retry-After": "1"})]
    fake.scripts["draft_content.json"] = [(429, {"Retry-After": "1"})]
    await fetch_draft(fake.draft_url(), tmp_path, limits=FAST)
    for key in ("listing", "draft_content.json"):
        t = fake.times[key]
        assert len(t) == 2
        assert t[1] - t[0] >= 0.9, key  # backoff_s is 0.01: only Retry-After explains this


def test_backoff_is_exponential_capped_and_honours_retry_after():
    lim = FetchLimits(backoff_s=0.5, max_backoff_s=4.0, max_retry_after_s=10.0)
    for attempt, hi in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (10, 4.0)]:
        d = _backoff_delay(attempt, lim, None)
        assert 0.8 * hi - 1e-9 <= d <= hi
    assert _backoff_delay(0, lim, "3") == 3.0
    assert _backoff_delay(0, lim, "999") == 10.0  # capped
    assert _backoff_delay(0, lim, "garbage") <= 0.5
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 5))
    assert 3.5 <= _backoff_delay(0, lim, http_date) <= 5.5


@pytest.mark.asyncio
async def test_retries_exhausted(fake, tmp_path):
    lim = FetchLimits(backoff_s=0.001, max_backoff_s=0.002, retries=2)
    fake.scripts["listing"] = [503] * 5
    with pytest.raises(DraftNotFound) as ei:
        await fetch_draft(fake.draft_url(), tmp_path, limits=lim)
    assert ei.value.status == 503 and fake.hits["listing"] == 3
    fake.scripts["listing"] = []
    rel = "assets/images/202611250633173a66b2ff.png"
    fake.scripts[rel] = [500] * 5
    with pytest.raises(AssetUnreachable) as ei:
        await fetch_draft(fake.draft_url(), tmp_path, limits=lim)
    assert ei.value.url == fake.url(rel) and ei.value.status == 500
    assert fake.hits[rel] == 3


@pytest.mark.asyncio
async def test_network_error_is_retried(tmp_path):
    # nothing listens on this port: connection refused on every attempt
    lim = FetchLimits(backoff_s=0.001, max_backoff_s=0.002, retries=2)
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    url = f"http://127.0.0.1:{port}{GET_DRAFT}?draft_id={DID}"
    with pytest.raises(DraftNotFound) as ei:
        await fetch_draft(url, tmp_path, limits=lim)
    assert "3 attempts" in str(ei.value) and ei.value.url == url


@pytest.mark.asyncio
async def test_file_404_is_asset_unreachable(fake, tmp_path):
    missing = "assets/videos/gone.mp4"
    fake.extra_urls.append(fake.url(missing))
    with pytest.raises(AssetUnreachable) as ei:
        await fetch_draft(fake.draft_url(), tmp_path, limits=FAST)
    assert ei.value.url == fake.url(missing)
    assert ei.value.status == 404
    assert fake.hits[missing] == 1  # a 404 is not retried
    assert not (tmp_path / DID / missing).exists()


@pytest.mark.asyncio
async def test_size_limit_content_length(fake, tmp_path):
    lim = FetchLimits(backoff_s=0.01, max_file_bytes=50_000)
    rel = "assets/videos/2026112506331744a98704.mp4"
    with pytest.raises(AssetUnreachable) as ei:
        await fetch_draft(fake.draft_url(), tmp_path, limits=lim)
    assert ei.value.url == fake.url(rel) and "limit" in str(ei.value)
    assert fake.hits[rel] == 1
    assert not (tmp_path / DID / rel).exists()
    assert not [p for p in (tmp_path / DID).rglob("*.part")]


@pytest.mark.asyncio
async def test_size_limit_while_streaming(fake, tmp_path):
    lim = FetchLimits(backoff_s=0.01, max_file_bytes=50_000)
    rel = "assets/videos/2026112506331744a98704.mp4"
    fake.no_length.add(rel)  # chunked: no Content-Length to check up front
    with pytest.raises(AssetUnreachable) as ei:
        await fetch_draft(fake.draft_url(), tmp_path, limits=lim)
    assert ei.value.url == fake.url(rel) and "limit" in str(ei.value)
    assert not (tmp_path / DID / rel).exists()
    assert not [p for p in (tmp_path / DID).rglob("*.part")]


@pytest.mark.asyncio
async def test_chunked_file_without_length_downloads(fake, tmp_path):
    rel = "assets/audios/20261125063317438a057b.mp3"
    fake.no_length.add(rel)
    local = await fetch_draft(fake.draft_url(), tmp_path, limits=FAST)
    assert (local.folder / rel).read_bytes() == fake.files[rel]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "tail",
    [
        "assets/..%2F..%2F..%2Fescaped.txt",
        "assets/..%5C..%5Cescaped.txt",
        "assets/x%00.mp4",
        "%2Fetc%2Fescaped.txt",
        "..%2Fescaped.txt",
    ],
)
async def test_path_traversal_refused(fake, tmp_path, tail):
    bad = f"{fake.base}/output/draft/{DID}/{tail}"
    fake.extra_urls.append(bad)
    with pytest.raises(AssetUnreachable) as ei:
        await fetch_draft(fake.draft_url(), tmp_path / "cache", limits=FAST)
    assert ei.value.url == bad
    assert "escapes" in str(ei.value)
    assert not list(tmp_path.rglob("escaped.txt"))
    assert sum(v for k, v in fake.hits.items() if k != "listing") == 0  # refused before any download


@pytest.mark.asyncio
async def test_symlink_in_cache_cannot_lead_out(fake, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "cache" / DID / "assets").mkdir(parents=True)
    (tmp_path / "cache" / DID / "assets" / "videos").symlink_to(outside)
    with pytest.raises(AssetUnreachable, match="escapes"):
        await fetch_draft(fake.draft_url(), tmp_path / "cache", limits=FAST)
    assert not list(outside.iterdir())


def test_rel_path_mapping_rules():
    h = "http://h:1"
    assert _rel_path_for(f"{h}/output/draft/{DID}/assets/videos/a.mp4", DID) == "assets/videos/a.mp4"
    assert _rel_path_for(f"{h}/x/{DID}/a%20b/%E4%B8%AD.png", DID) == "a b/中.png"
    # no segment equals the id: capcut-mate's rule (first segment ^\d{8,} with len >= 10)
    assert _rel_path_for(f"{h}/output/draft/20261125063317ffffffff/assets/a.mp4", DID) == "assets/a.mp4"
    # nothing recognisable: the basename
    assert _rel_path_for(f"{h}/some/where/draft_content.json", DID) == "draft_content.json"
    assert _rel_path_for(f"{h}/output/draft/{DID}/a/./b//c.mp4", DID) == "a/b/c.mp4"
    assert _rel_path_for(f"{h}/output/draft/{DID}/", DID) is None
    assert _rel_path_for(f"{h}/output/draft/{DID}/a/../../x", DID) is None


@pytest.mark.asyncio
async def test_parallel_bound_respected(fake, tmp_path):
    fake.files = {"draft_content.json": CONTENT_BYTES}
    for i in range(12):
        fake.files[f"assets/videos/{i:02d}.mp4"] = bytes([i]) * 1000
    fake.delay = 0.05
    lim = FetchLimits(backoff_s=0.01, parallel=3)
    await fetch_draft(fake.draft_url(), tmp_path, limits=lim)
    assert fake.max_inflight == 3
    lim1 = FetchLimits(backoff_s=0.01, parallel=1)
    fake.max_inflight = 0
    await fetch_draft(fake.draft_url(), tmp_path / "b", limits=lim1)
    assert fake.max_inflight == 1


@pytest.mark.asyncio
async def test_cache_hit_skips_download(fake, tmp_path):
    rel = "assets/videos/2026112506331744a98704.mp4"
    local = await fetch_draft(fake.draft_url(), tmp_path, limits=FAST)
    target = local.folder / rel
    before = {p: p.stat().st_ino for p in local.folder.rglob("*") if p.is_file()}
    calls = []
    await fetch_draft(fake.draft_url(), tmp_path, limits=FAST, progress=lambda d, t: calls.append((d, t)))
    after = {p: p.stat().st_ino for p in local.folder.rglob("*") if p.is_file()}
    # nothing rewritten (a download would rename a new file in, changing the inode) except
    # the timeline JSON, which is always fetched again (an edit may keep its size)
    for p, ino in before.items():
        if p.name in ("draft_content.json", "draft_info.json"):
            assert after[p] != ino, p
        else:
            assert after[p] == ino, p
    assert fake.hits["draft_content.json"] == 2
    assert calls[-1][0] == calls[-1][1] > 0
    # a changed size on the server is downloaded again
    fake.files[rel] = b"changed"
    edited = CONTENT_BYTES.replace(b'"duration": 5000000', b'"duration": 6000000')
    assert len(edited) == len(CONTENT_BYTES)
    fake.files["draft_content.json"] = edited
    await fetch_draft(fake.draft_url(), tmp_path, limits=FAST)
    assert target.read_bytes() == b"changed"
    assert (local.folder / "draft_content.json").read_bytes() == edited
    assert (local.folder / "draft_info.json").read_bytes() == edited


@pytest.mark.asyncio
async def test_cache_respects_last_modified(aiohttp_server, tmp_path):
    """Same size but a different Last-Modified than the cached copy -> downloaded again."""
    stamp = {"v": "Wed, 25 Nov 2026 06:33:17 GMT"}
    hits = Counter()

    async def listing(request):
        base = str(request.url.origin())
        return web.json_response(
            {
                "code": 0,
                "files": [f"{base}/output/draft/{DID}/draft_content.json", f"{base}/output/draft/{DID}/assets/a.bin"],
            }
        )

    async def f(request):
        name = request.match_info["name"]
        hits[name] += 1
        return web.Response(body=b"x" * 10, headers={"Last-Modified": stamp["v"]})

    app = web.Application()
    app.router.add_get(GET_DRAFT, listing)
    app.router.add_get("/output/draft/" + DID + "/{name:.*}", f)
    server = await aiohttp_server(app, host="127.0.0.1")
    url = str(server.make_url(GET_DRAFT)) + f"?draft_id={DID}"
    local = await fetch_draft(url, tmp_path, limits=FAST)
    a = local.folder / "assets/a.bin"
    assert abs(a.stat().st_mtime - 1795588397) < 2  # mtime taken from Last-Modified
    ino = a.stat().st_ino
    await fetch_draft(url, tmp_path, limits=FAST)
    assert a.stat().st_ino == ino  # same size, same date: reused
    stamp["v"] = "Thu, 26 Nov 2026 06:33:17 GMT"
    await fetch_draft(url, tmp_path, limits=FAST)
    assert a.stat().st_ino != ino  # same size, newer date: fetched


@pytest.mark.asyncio
async def test_resume_with_range_after_truncated_body(fake, tmp_path):
    rel = "assets/videos/2026112506331744a98704.mp4"
    fake.scripts[rel] = ["truncate"]
    local = await fetch_draft(fake.draft_url(), tmp_path, limits=FAST)
    assert (local.folder / rel).read_bytes() == fake.files[rel]
    assert fake.hits[rel] == 2
    assert fake.ranges and fake.ranges[0].startswith("bytes=") and fake.ranges[0] != "bytes=0-"


@pytest.mark.asyncio
async def test_given_client_is_used_and_left_open(fake, tmp_path):
    async with EgressClient(EgressPolicy.permissive()) as c:
        await fetch_draft(fake.draft_url(), tmp_path, limits=FAST, client=c)
        assert not c.session.closed


# ------------------------------------------------------------------------------------------
# local sources
# ------------------------------------------------------------------------------------------


def _make_local(folder: Path, name: str = "draft_content.json") -> Path:
    folder.mkdir(parents=True)
    (folder / name).write_bytes(CONTENT_BYTES)
    (folder / "assets/videos").mkdir(parents=True)
    (folder / "assets/videos/2026112506331744a98704.mp4").write_bytes(b"v")
    return folder


@pytest.mark.asyncio
async def test_local_folder_source(tmp_path):
    folder = _make_local(tmp_path / DID)
    cache = tmp_path / "cache"
    local = await fetch_draft(str(folder), cache)
    assert local == LocalDraft(None, folder, folder / "draft_content.json", str(folder))
    assert not cache.exists()  # nothing copied
    # folder name is the draft id: server paths map into it
    assert local.resolve_material(CONTENT["materials"]["videos"][0]["path"]) == str(
        folder / "assets/videos/2026112506331744a98704.mp4"
    )


@pytest.mark.asyncio
async def test_local_content_path_sources(tmp_path):
    folder = _make_local(tmp_path / "d1")
    local = await fetch_draft(str(folder / "draft_content.json"), tmp_path / "cache")
    assert local.folder == folder and local.content_path == folder / "draft_content.json"
    folder2 = _make_local(tmp_path / "d2", "draft_info.json")
    local2 = await fetch_draft(folder2, tmp_path / "cache")  # a Path works too
    assert local2.content_path == folder2 / "draft_info.json"


def test_fetch_draft_sync_local(tmp_path):
    folder = _make_local(tmp_path / "d2", "draft_info.json")
    local = fetch_draft_sync(str(folder / "draft_info.json"), tmp_path / "cache")
    assert local.content_path == folder / "draft_info.json" and local.draft_id is None


@pytest.mark.asyncio
async def test_local_missing(tmp_path):
    with pytest.raises(DraftNotFound):
        await fetch_draft(str(tmp_path / "nope"), tmp_path / "cache")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DraftNotFound, match="draft_content.json"):
        await fetch_draft(str(tmp_path / "empty"), tmp_path / "cache")


# ------------------------------------------------------------------------------------------
# resolve_material
# ------------------------------------------------------------------------------------------


@pytest.fixture
def remote_local(tmp_path) -> LocalDraft:
    folder = tmp_path / DID
    return LocalDraft(DID, folder, folder / "draft_content.json", f"http://h{GET_DRAFT}?draft_id={DID}")


def test_resolve_server_path(remote_local):
    f = remote_local.folder
    assert remote_local.resolve_material(f"/app/output/draft/{DID}/assets/videos/x.mp4") == str(
        f / "assets/videos/x.mp4"
    )
    with pytest.raises(AssetUnreachable):
        remote_local.resolve_material(f"/app/output/draft/{DID}/../../etc/passwd")


def test_resolve_windows_path(remote_local):
    raw = f"C:\\Users\\me\\AppData\\Local\\JianyingPro\\User Data\\Projects\\com.lveditor.draft\\{DID}\\assets\\x.mp4"
    assert remote_local.resolve_material(raw) == str(remote_local.folder / "assets/x.mp4")


def test_resolve_placeholder(remote_local):
    raw = "##_draftpath_placeholder_0E685133-18CE-45ED-8CB8-2904A212EC80_##/assets/images/a.png"
    assert remote_local.resolve_material(raw) == str(remote_local.folder / "assets/images/a.png")
    raw2 = "##_draftpath_placeholder_0E685133-18CE-45ED-8CB8-2904A212EC80_##\\b.mp3"
    assert remote_local.resolve_material(raw2) == str(remote_local.folder / "b.mp3")


def test_resolve_zero_width_and_spaces(remote_local):
    raw = f"\ufeff  /app/output/draft/{DID}/assets/videos/\u200bx.mp4\u200d \u200c"
    assert remote_local.resolve_material(raw) == str(remote_local.folder / "assets/videos/x.mp4")


def test_resolve_url_unchanged(remote_local):
    assert remote_local.resolve_material("https://cdn.example.com/a/b.mp4?x=1") == "https://cdn.example.com/a/b.mp4?x=1"
    assert remote_local.resolve_material("\u200bHTTP://cdn.example.com/c.png ") == "HTTP://cdn.example.com/c.png"


def test_resolve_relative_and_absolute(remote_local):
    f = remote_local.folder
    assert remote_local.resolve_material("assets/audios/a.mp3") == str(f / "assets/audios/a.mp3")
    assert remote_local.resolve_material("/srv/media/a.mp3") == "/srv/media/a.mp3"
    assert remote_local.resolve_material("D:/media/a.mp3") == "D:/media/a.mp3"
    assert remote_local.resolve_material("") == ""


def test_resolve_local_folder_fallbacks(tmp_path):
    folder = tmp_path / "我的草稿"  # not a draft id
    (folder / "assets/images").mkdir(parents=True)
    (folder / "assets/images/pic.png").write_bytes(b"x")
    local = LocalDraft(None, folder, folder / "draft_content.json", str(folder))
    # absolute path that does not exist here -> assets/<kind>/<basename>
    assert local.resolve_material("C:\\Users\\me\\Pictures\\pic.png") == str(folder / "assets/images/pic.png")
    assert local.resolve_material("/nowhere/pic.png") == str(folder / "assets/images/pic.png")
    assert local.resolve_material("/nowhere/other.png") == "/nowhere/other.png"
    # a folder whose name looks like a draft id acts as the draft id
    folder2 = tmp_path / DID
    local2 = LocalDraft(None, folder2, folder2 / "draft_content.json", str(folder2))
    assert local2.resolve_material(f"/app/output/draft/{DID}/assets/videos/v.mp4") == str(
        folder2 / "assets/videos/v.mp4"
    )


def test_draft_id_from_url():
    assert draft_id_from_url(f"https://x/openapi/capcut-mate/v1/get_draft?draft_id={DID}") == DID
    assert draft_id_from_url(f"https://x/get_draft?a=1&draft_id={DID}&draft_id=other") == DID
    assert draft_id_from_url("https://x/get_draft?draft_id=") is None
    assert draft_id_from_url("https://x/get_draft") is None


# ------------------------------------------------------------------------------------------
# fetch_materials
# ------------------------------------------------------------------------------------------


def test_sniff_ext():
    assert _sniff_ext(b"\x89PNG\r\n\x1a\n....") == ".png"
    assert _sniff_ext(b"\xff\xd8\xff\xe0") == ".jpg"
    assert _sniff_ext(b"\x00\x00\x00\x20ftypisom") == ".mp4"
    assert _sniff_ext(b"\x00\x00\x00\x20ftypM4A ") == ".m4a"
    assert _sniff_ext(b"RIFF\x00\x00\x00\x00WAVEfmt ") == ".wav"
    assert _sniff_ext(b"ID3\x04\x00") == ".mp3"
    assert _sniff_ext(b"\xff\xfb\x90\x00") == ".mp3"
    assert _sniff_ext(b"\xff\xf1\x50\x80") == ".aac"
    assert _sniff_ext(b"hello") is None


@pytest.mark.asyncio
async def test_fetch_materials(fake, tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + b"p" * 100
    mp3 = b"ID3\x04" + b"a" * 100
    mp4 = b"\x00\x00\x00\x18ftypisom" + b"v" * 100
    fake.media = {
        "pic": (png, "application/octet-stream"),
        "song": (mp3, "audio/mpeg"),
        "clip.mp4": (mp4, "video/mp4"),
        "blob": (b"??", "image/webp"),
    }
    folder = tmp_path / DID
    folder.mkdir()
    local = LocalDraft(DID, folder, folder / "draft_content.json", "x")
    urls = [
        f"{fake.base}/media/pic",
        f"\u200b{fake.base}/media/song ",
        f"{fake.base}/media/clip.mp4",
        f"{fake.base}/media/blob",
        "/not/a/url.mp4",
        f"{fake.base}/media/pic",
    ]
    got = await fetch_materials(local, urls, limits=FAST, kinds={f"{fake.base}/media/clip.mp4": "photo"})

    def sha(u):
        return hashlib.sha1(u.encode()).hexdigest()

    assert set(got) == {urls[0], urls[1], urls[2], urls[3]}
    assert got[urls[0]] == folder / "assets/images" / f"{sha(urls[0])}.png"
    song = f"{fake.base}/media/song"
    assert got[urls[1]] == folder / "assets/audios" / f"{sha(song)}.mp3"
    assert got[urls[2]] == folder / "assets/images" / f"{sha(urls[2])}.mp4"  # kind hint wins
    assert got[urls[3]] == folder / "assets/images" / f"{sha(urls[3])}.webp"  # from Content-Type
    assert got[urls[0]].read_bytes() == png and got[urls[1]].read_bytes() == mp3
    assert fake.hits["media/pic"] == 1
    assert not [p for p in folder.rglob("*") if p.name.startswith(".")]
    # second call: cache hit, same files untouched
    ino = got[urls[0]].stat().st_ino
    again = await fetch_materials(local, urls[:1], limits=FAST)
    assert again[urls[0]] == got[urls[0]] and got[urls[0]].stat().st_ino == ino
    # a resolved URL material is what resolve_material returned for it
    assert local.resolve_material(urls[0]) in got


@pytest.mark.asyncio
async def test_fetch_materials_404(fake, tmp_path):
    local = LocalDraft(DID, tmp_path, tmp_path / "draft_content.json", "x")
    url = f"{fake.base}/output/draft/{DID}/nope.png"
    with pytest.raises(AssetUnreachable) as ei:
        await fetch_materials(local, [url], limits=FAST)
    assert ei.value.url == url and ei.value.status == 404
