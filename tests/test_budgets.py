"""Resource budgets (docs/security.md#resource-budgets): every limit fails with LIMIT_EXCEEDED naming the limit, the
value and the setting, before any frame is rendered — in the library/CLI (``Limits`` through
``RenderOptions``) and in the server (``--max-*`` settings, request bodies, headers, JSON depth)."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compositor import RenderOptions, open_draft
from compositor.budgets import Limits, StillBudget, check_draft, check_timeline
from compositor.cli import main as cli_main
from compositor.errors import DraftError, LimitExceeded
from compositor.jsonguard import _unescaped_quotes
from compositor.resolve import resolve
from compositor.timeline import OutputOptions
from fixtures.media import make_image
from server.settings import Settings
from tests.draft_helpers import facts_from_json, minimal_draft, parse, segment, track, video_material
from tests.server_fixtures import make_client, new_draft_id  # noqa: F401 - fixtures

SEC = 1_000_000


def one_clip(*, width=320, height=180, fps=30, dur=2 * SEC, src_dur=None, mid="m1", kind="video", **seg_kw):
    seg = segment("s1", mid, 0, dur, **seg_kw)
    if src_dur is not None:
        seg["source_timerange"]["duration"] = src_dur
    return minimal_draft(
        width=width,
        height=height,
        fps=fps,
        videos=[video_material(mid, 320, 180, 10 * SEC, kind)],
        tracks=[track("t1", "video", [seg])],
    )


def raises_limit(fn, limit: str) -> LimitExceeded:
    with pytest.raises(LimitExceeded) as info:
        fn()
    err = info.value
    assert err.code == "LIMIT_EXCEEDED" and err.limit == limit
    assert limit in str(err) and str(err.value) in str(err) and err.setting in str(err)
    return err


# -- pure checks ---------------------------------------------------------------------------------


def test_canvas_and_output_size():
    draft = parse(one_clip(width=16384, height=16384))
    err = raises_limit(lambda: check_draft(draft, OutputOptions(), Limits()), "max_side_px")
    assert err.value == 16384 and err.json_path == "$.canvas_config" and err.setting == "Limits.max_side_px"
    draft = parse(one_clip())
    raises_limit(lambda: check_draft(draft, OutputOptions(width=5000), Limits()), "max_side_px")
    # a missing side follows the canvas aspect: 4000 wide of a 16:9 canvas is fine, 8000 tall is not
    check_draft(draft, OutputOptions(width=4000), Limits())
    raises_limit(lambda: check_draft(draft, OutputOptions(height=8000), Limits()), "max_side_px")
    assert Limits(naming="server").setting("max_side_px") == "--max-side-px / DRAFT_SERVER_MAX_SIDE_PX"


@pytest.mark.parametrize("fps", [240, 120.5, "1000/1", "241/2", Fraction(121)])
def test_fps_numbers_and_fraction_strings_alike(fps):
    draft = parse(one_clip())
    raises_limit(lambda: check_draft(draft, OutputOptions(fps=fps), Limits()), "max_fps")


def test_draft_fps_and_limits_that_pass():
    raises_limit(lambda: check_draft(parse(one_clip(fps=1000)), OutputOptions(), Limits()), "max_fps")
    check_draft(parse(one_clip(fps=120)), OutputOptions(fps="120/1"), Limits())
    with pytest.raises(DraftError) as info:  # positive, but no usable frame rate
        check_draft(parse(one_clip(fps=1e-300)), OutputOptions(), Limits())
    assert info.value.json_path == "$.fps"


def test_segment_count():
    segs = [segment(f"s{i}", "m1", i * SEC, SEC) for i in range(6)]
    draft = parse(minimal_draft(videos=[video_material("m1")], tracks=[track("t1", "video", segs)]))
    err = raises_limit(lambda: check_draft(draft, OutputOptions(), Limits(max_segments=5)), "max_segments")
    assert err.value == 6 and err.json_path == "$.tracks"


def _timeline(obj, options=OutputOptions()):
    draft = parse(obj)
    return draft, resolve(draft, facts_from_json(draft), options)


def test_output_duration_and_frame_count():
    draft, tl = _timeline(one_clip(dur=3 * 3600 * SEC))
    err = raises_limit(lambda: check_timeline(tl, Limits(), draft), "max_duration_s")
    assert err.value == 10800.0
    draft, tl = _timeline(one_clip(dur=2 * SEC))
    raises_limit(lambda: check_timeline(tl, Limits(max_frames=59), draft), "max_frames")
    check_timeline(tl, Limits(max_frames=60), draft)
    # a time range selecting a short span of a long draft is within the budget
    draft, tl = _timeline(one_clip(dur=3 * 3600 * SEC), OutputOptions(start_us=0, end_us=10 * SEC))
    check_timeline(tl, Limits(), draft)


def test_speed_range_names_the_segment():
    # 1 ms of source stretched over 10 s: 0.0001x (the audio stretch would allocate gigabytes)
    draft, tl = _timeline(one_clip(dur=10 * SEC, src_dur=1000))
    err = raises_limit(lambda: check_timeline(tl, Limits(), draft), "min_speed")
    assert err.json_path == "$.tracks[0].segments[0]" and "below" in str(err)
    draft, tl = _timeline(one_clip(dur=SEC, speed=150.0))
    raises_limit(lambda: check_timeline(tl, Limits(), draft), "max_speed")
    draft, tl = _timeline(one_clip(dur=SEC, speed=100.0))
    check_timeline(tl, Limits(), draft)
    # a photo's speed is irrelevant (it holds one picture)
    draft, tl = _timeline(one_clip(dur=10 * SEC, src_dur=1000, kind="photo"))
    check_timeline(tl, Limits(), draft)


def test_still_budget_per_image_and_total():
    budget = StillBudget(Limits(max_still_pixels=1000, max_total_still_pixels=1500))
    budget.charge("a.png", 20, 40)
    budget.charge("a.png", 20, 40)  # the same file counts once
    raises_limit(lambda: budget.charge("big.png", 40, 40), "max_still_pixels")
    raises_limit(lambda: budget.charge("b.png", 30, 30), "max_total_still_pixels")


# -- JSON guards at parse time ------------------------------------------------------------------


@pytest.mark.parametrize("value", ['"nan"', '"inf"', '"-Infinity"', '"-NaN"', r'"\u006eaN"', "1e999", "-1e400"])
def test_non_finite_numbers_are_draft_invalid_with_their_path(value):
    raw = json.dumps(one_clip()).replace('"scale": {"x": 1.0', f'"scale": {{"x": {value}')
    with pytest.raises(DraftError) as info:
        parse_raw(raw)
    assert info.value.code == "DRAFT_INVALID"
    assert info.value.json_path == "$.tracks[0].segments[0].clip.scale.x"


def parse_raw(raw: str):
    from compositor.draft import parse_draft

    return parse_draft(raw.encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40).map(lambda b: bytes(b'\\"a['[x % 4] for x in b)))
def test_string_quotes_are_found_like_a_naive_scan(raw):
    expected = []
    for i, c in enumerate(raw):
        if c == 0x22:
            run = 0
            while i - run - 1 >= 0 and raw[i - run - 1] == 0x5C:
                run += 1
            if run % 2 == 0:
                expected.append(i)
    assert _unescaped_quotes(np.frombuffer(raw, np.uint8)).tolist() == expected


def test_deep_nesting_is_draft_invalid_not_recursion_error():
    obj = one_clip()
    raw = json.dumps(obj).replace('"name": "t1"', '"name": ' + "[" * 100_000 + "]" * 100_000)
    with pytest.raises(DraftError) as info:
        parse_raw(raw)
    assert info.value.json_path.startswith("$.tracks[0].name[0][0]") and "nested deeper than 64" in str(info.value)
    parse_raw(json.dumps(obj))


# -- through the library (real files) -----------------------------------------------------------


def _png_header_only(path, w: int, h: int) -> None:
    """A PNG whose header claims w x h (its pixels are never decoded by a budget refusal)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def _photo_folder(tmp_path, names_sizes):
    videos, segs = [], []
    for i, (name, w, h) in enumerate(names_sizes):
        videos.append({**video_material(f"p{i}", w, h, 10 * SEC, "photo"), "path": name})
        segs.append(segment(f"s{i}", f"p{i}", i * SEC, SEC))
    (tmp_path / "draft_content.json").write_text(
        json.dumps(minimal_draft(width=320, height=180, videos=videos, tracks=[track("t1", "video", segs)]))
    )
    return tmp_path


def test_still_pixels_are_refused_from_the_header(tmp_path):
    _png_header_only(tmp_path / "bomb.png", 5000, 5000)
    folder = _photo_folder(tmp_path, [("bomb.png", 5000, 5000)])
    err = raises_limit(
        lambda: open_draft(folder, RenderOptions(limits=Limits(max_still_pixels=1_000_000))), "max_still_pixels"
    )
    assert err.value == 25_000_000 and "bomb.png" in str(err)


def test_total_still_pixels(tmp_path):
    for name in ("a.png", "b.png"):
        make_image(tmp_path / name, w=64, h=64, color=(10, 20, 30))
    folder = _photo_folder(tmp_path, [("a.png", 64, 64), ("b.png", 64, 64), ("a.png", 64, 64)])
    open_draft(folder, RenderOptions(limits=Limits(max_total_still_pixels=2 * 64 * 64)))
    raises_limit(
        lambda: open_draft(folder, RenderOptions(limits=Limits(max_total_still_pixels=64 * 64 + 1))),
        "max_total_still_pixels",
    )


def test_cli_prints_one_line_for_a_huge_canvas(tmp_path, capsys):
    (tmp_path / "draft_content.json").write_text(json.dumps(one_clip(width=16384, height=16384)))
    assert cli_main(["probe", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error LIMIT_EXCEEDED: canvas width is 16384")
    assert "Limits.max_side_px" in err[0]


# -- the server: settings, request bodies, headers -------------------------------------------------


def test_settings_from_flags_and_environment():
    s = Settings.from_sources(
        ["--max-fps", "60", "--worker-memory-mb", "2048"],
        {"DRAFT_SERVER_MAX_SIDE_PX": "2048", "DRAFT_SERVER_MAX_SPEED": "50"},
    )
    assert (s.max_fps, s.worker_memory_mb, s.max_side_px, s.max_speed) == (60, 2048, 2048, 50.0)
    d = Settings()
    assert (
        d.max_side_px,
        d.max_fps,
        d.max_duration_s,
        d.max_segments,
        d.max_json_depth,
        d.max_body_bytes,
        d.worker_memory_mb,
    ) == (4096, 120, 7200.0, 5000, 64, 1024 * 1024, 3072)


CM = "/openapi/capcut-mate/v1"


@pytest.mark.asyncio
async def test_request_budgets(make_client):
    c = await make_client(submit_check="off")
    url = f"http://127.0.0.1:9/openapi/capcut-mate/v1/get_draft?draft_id={new_draft_id()}"
    # a body over max_body_bytes is refused from its Content-Length
    huge = json.dumps({"draft_url": url + "&x=" + "a" * (2 * 1024 * 1024)})
    resp = await c.post(f"{CM}/gen_video", data=huge, headers={"Content-Type": "application/json"})
    err = (await resp.json())["error"]
    assert resp.status == 413 and err["code"] == "PAYLOAD_TOO_LARGE" and "--max-body-bytes" in err["details"]
    # a URL field over 4096 characters within the body limit: 400 naming the field
    for path, body in (
        (f"{CM}/gen_video", {"draft_url": url + "&x=" + "a" * 5000}),
        (f"{CM}/gen_video_status", {"draft_url": url + "&x=" + "a" * 5000}),
        ("/v1/renders", {"draft_url": url, "callback_url": "http://127.0.0.1:9/" + "a" * 5000}),
    ):
        resp = await c.post(path, json=body)
        err = (await resp.json())["error"]
        assert resp.status == 400 and err["code"] == "VALIDATION_ERROR", err
        assert err["path"] in ("$.draft_url", "$.callback_url") and "a" * 100 not in err["details"]


@pytest.mark.asyncio
async def test_json_depth_of_bodies_is_a_400_with_a_path(make_client):
    c = await make_client(submit_check="off")
    deep = '{"draft_url": "x", "z": ' + "[" * 50_000 + "]" * 50_000 + "}"
    resp = await c.post(f"{CM}/gen_video", data=deep, headers={"Content-Type": "application/json"})
    err = (await resp.json())["error"]
    assert resp.status == 400 and err["code"] == "VALIDATION_ERROR" and err["path"].startswith("$.z[0][0]")
    inline = {"draft": {"tracks": [{"name": json.loads("[" * 70 + "]" * 70)}]}}
    resp = await c.post("/v1/renders", json=inline)
    err = (await resp.json())["error"]
    assert resp.status == 400 and err["path"].startswith("$.draft.tracks[0].name[0]"), err


@pytest.mark.asyncio
async def test_output_options_over_budget_at_submission(make_client):
    c = await make_client(submit_check="off", max_side_px=2048)
    url = f"http://127.0.0.1:9/openapi/capcut-mate/v1/get_draft?draft_id={new_draft_id()}"
    for output, path, limit in (
        ({"width": 4096}, "$.output.width", "max_side_px"),
        ({"fps": "1000/1"}, "$.output.fps", "max_fps"),
        ({"fps": 200.0}, "$.output.fps", "max_fps"),
    ):
        resp = await c.post("/v1/renders", json={"draft_url": url, "output": output})
        err = (await resp.json())["error"]
        assert resp.status == 400 and err["code"] == "LIMIT_EXCEEDED" and err["path"] == path, err
        assert err["context"]["limit"] == limit and "DRAFT_SERVER_" in err["details"]


@pytest.mark.asyncio
async def test_non_utf8_header_values_are_a_400(make_client):
    c = await make_client()
    reader, writer = await asyncio.open_connection("127.0.0.1", c.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-ID: a\xff\xfeb\r\nConnection: close\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"X-Request-ID" in body and b"\xff" not in answer
    ok = await c.get("/healthz", headers={"X-Note": "中文"})
    assert ok.status == 200


# -- deeply nested JSON from elsewhere: get_draft answers, text contents --------------------------


def test_deep_text_content_is_plain_text_not_a_recursion_error():
    from compositor.text.content import parse_content

    deep = "{" + '"a":[' * 100_000
    assert parse_content(deep).text == deep


@pytest.mark.asyncio
async def test_deep_get_draft_answer_is_not_a_500(aiohttp_server, tmp_path):
    import aiohttp
    from aiohttp import web

    from compositor.errors import DraftNotFound
    from compositor.fetch import fetch_draft
    from server.drafts import DraftChecker
    from server.errors import ApiError

    async def get_draft(request):
        return web.Response(
            body=b'{"code": 0, "files": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", content_type="application/json"
        )

    app = web.Application()
    app.router.add_get("/get_draft", get_draft)
    server = await aiohttp_server(app, host="127.0.0.1")
    url = f"http://127.0.0.1:{server.port}/get_draft?draft_id={new_draft_id()}"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ApiError) as info:
            await DraftChecker(session, Settings()).check(url)
    assert info.value.code == "INVALID_DRAFT_URL" and "nested too deeply" in info.value.details
    with pytest.raises(DraftNotFound):  # the worker's download of the same answer
        await fetch_draft(url, tmp_path)
