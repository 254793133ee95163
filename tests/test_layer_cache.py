"""Warp-once caches: recorded warps give the warp's bytes; the session caches invalidate
on any change of matrix, opacity or picture, stay within their byte budgets, and the
frame loop allocates nothing per frame (tracemalloc)."""

from __future__ import annotations

import gc
import json
import math
import tracemalloc

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from compositor.geometry import Affine, pixel_box
from compositor.kernels import warp_blend
from compositor.kernels.warp import blit_record, warp_record
from compositor.media.planes import Planes, half_alpha, planes_of_frame
from compositor.pipeline import RenderOptions, open_draft
from compositor.pixels import compose as compose_module
from compositor.pixels.compose import Compositor
from compositor.pixels.layer_cache import LayerCache, MipCache
from compositor.plan import DrawOp, FramePlan
from fixtures.local_draft import materialize

# -- the kernels: blit_record(warp_record(...)) == warp_blend(...) ------------------------

finite = st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False)


@st.composite
def warps(draw):
    sh, sw = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    src = rng.integers(0, 256, (sh, sw), dtype=np.uint8)
    alpha_kind = draw(st.sampled_from(["none", "random", "opaque", "binary"]))
    alpha = {
        "none": None,
        "random": rng.integers(0, 256, (sh, sw), dtype=np.uint8),
        "opaque": np.full((sh, sw), 255, np.uint8),
        "binary": (rng.integers(0, 2, (sh, sw)) * 255).astype(np.uint8),
    }[alpha_kind]
    # any invertible-ish matrix: scale, rotation, shear, translation (and exact identities)
    if draw(st.booleans()):
        s = draw(st.floats(0.2, 4.0))
        r = draw(st.floats(-math.pi, math.pi))
        inv = [
            [math.cos(r) / s, -math.sin(r) / s, draw(finite) * 8],
            [math.sin(r) / s, math.cos(r) / s, draw(finite) * 8],
        ]
    else:
        inv = [[draw(finite), draw(finite), draw(finite) * 8], [draw(finite), draw(finite), draw(finite) * 8]]
    opacity = draw(st.sampled_from([1.0, 0.0, 0.5, draw(st.floats(0.0, 1.0))]))
    box = (draw(st.integers(-4, 20)), draw(st.integers(-4, 20)), draw(st.integers(0, 40)), draw(st.integers(0, 40)))
    return src, alpha, np.array(inv), opacity, box, seed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(warps())
def test_recorded_warp_is_bit_identical_to_the_warp(case):
    src, alpha, inv, opacity, box, seed = case
    shape = (30, 34)
    rec = warp_record(src, alpha, inv, opacity, box, shape)
    rng = np.random.default_rng(seed + 1)
    for background in (
        rng.integers(0, 256, shape, dtype=np.uint8),
        np.zeros(shape, np.uint8),
        np.full(shape, 255, np.uint8),
    ):
        want = background.copy()
        warp_blend(want, src, alpha, inv, opacity, box)
        got = background.copy()
        if rec is None:  # an opaque integer translation: warp_blend is itself a blit
            assert alpha is None and inv[0, 0] == 1 and inv[1, 1] == 1 and inv[0, 1] == 0 and inv[1, 0] == 0
            continue
        blit_record(got, rec)
        np.testing.assert_array_equal(got, want)


def test_recording_a_translation_is_declined_and_a_record_checks_its_shape():
    src = np.arange(64, dtype=np.uint8).reshape(8, 8)
    assert warp_record(src, None, [[1, 0, -2], [0, 1, -4]], 1.0, (0, 0, 16, 16), (16, 16)) is None
    rec = warp_record(src, None, [[0.5, 0, 0], [0, 0.5, 0]], 1.0, (0, 0, 16, 16), (16, 16))
    assert rec is not None and rec.nbytes > 0
    with pytest.raises(ValueError, match="record was made for"):
        blit_record(np.zeros((16, 17), np.uint8), rec)


# -- the compositor with a session's caches --------------------------------------------


def picture(w, h, seed, alpha=True):
    rng = np.random.default_rng(seed)
    cw, ch = (w + 1) // 2, (h + 1) // 2
    a = rng.integers(0, 256, (h, w), dtype=np.uint8) if alpha else None
    return Planes(
        rng.integers(16, 236, (h, w), dtype=np.uint8),
        rng.integers(16, 240, (ch, cw), dtype=np.uint8),
        rng.integers(16, 240, (ch, cw), dtype=np.uint8),
        a,
        None if a is None else half_alpha(a),
    )


W, H = 96, 64


def draw_op(m: Affine, w: int, h: int, opacity=1.0, key="p", kind="media") -> DrawOp:
    box = pixel_box(m.bounds(w, h), W, H)
    assert box is not None
    return DrawOp(key, key, True, True, None, (0, 0, w, h), m, opacity, box, kind=kind)


def compose(comp: Compositor, ops, pic: Planes, seed=7) -> Planes:
    dst = picture(W, H, seed, alpha=False)
    comp.compose(FramePlan(0, 0, tuple(ops)), dst, lambda op: pic)
    return dst


def same(a: Planes, b: Planes) -> None:
    for x, y in ((a.y, b.y), (a.u, b.u), (a.v, b.v)):
        np.testing.assert_array_equal(x, y)


def test_a_static_layer_is_recorded_once_then_blitted_with_the_same_bytes():
    pic = picture(30, 20, 1)
    m = Affine.scale(1.37).then(Affine.rotate_cw(11.0)).then(Affine.translate(20.3, 9.8))
    ops = [draw_op(m, 30, 20, 0.9), draw_op(m.then(Affine.translate(7, 3)), 30, 20, key="q", kind="text")]
    cached = Compositor(W, H, layers=LayerCache(), mips=MipCache())
    plain = Compositor(W, H)
    for frame in range(4):
        same(compose(cached, ops, pic, seed=frame), compose(plain, ops, pic, seed=frame))
    assert cached.layers is not None
    assert cached.layers.recorded == 2  # each layer on its second frame
    assert cached.layers.blits == 2 * 3  # frames 2, 3, 4


def test_an_opaque_still_only_scaled_and_moved_is_recorded_after_a_longer_run(monkeypatch):
    """Its warp is the cheap separable one: recorded once it has been drawn the same way
    CHEAP_WARP_DRAWS_BEFORE_RECORD times in a row; a rotated one on its second draw."""
    monkeypatch.setattr(compose_module, "CHEAP_WARP_DRAWS_BEFORE_RECORD", 5)
    photo = picture(30, 20, 1, alpha=False)
    kb = Affine.scale(1.37).then(Affine.translate(20.3, 9.8))
    tilted = Affine.scale(1.37).then(Affine.rotate_cw(11.0)).then(Affine.translate(20.3, 9.8))
    for m, recorded_on in ((kb, 6), (tilted, 2)):
        cached = Compositor(W, H, layers=LayerCache(), mips=MipCache())
        for frame in range(1, 9):
            ops = [draw_op(m, 30, 20)]
            same(compose(cached, ops, photo, seed=frame), compose(Compositor(W, H), ops, photo, seed=frame))
            assert cached.layers is not None
            assert cached.layers.recorded == (frame >= recorded_on), (m, frame)
            assert cached.layers.blits == max(0, frame - recorded_on + 1)  # the record frame blits too
    # a run broken by one different draw starts again
    cached = Compositor(W, H, layers=LayerCache())
    moved = kb.then(Affine.translate(0.5, 0))
    for m in [kb] * 4 + [moved] + [kb] * 4:
        compose(cached, [draw_op(m, 30, 20)], photo)
    assert cached.layers is not None and cached.layers.recorded == 0


def test_video_frames_and_filtered_or_masked_pictures_are_not_cached():
    pic = picture(30, 20, 1)
    m = Affine.scale(1.5).then(Affine.translate(3.5, 2.5))
    video = DrawOp("v", "v", False, True, 0, (0, 0, 30, 20), m, 1.0, pixel_box(m.bounds(30, 20), W, H))
    cached = Compositor(W, H, layers=LayerCache())
    for _ in range(3):
        compose(cached, [video], pic)
    assert cached.layers is not None and cached.layers.recorded == 0 and len(cached.layers) == 0


def nudged(x: float) -> float:
    return float(np.nextafter(x, math.inf))


@pytest.mark.parametrize("change", ["matrix_c", "matrix_a", "opacity", "content", "same_content_new_picture"])
def test_any_change_of_matrix_opacity_or_picture_misses_the_cache(change):
    pic = picture(30, 20, 1)
    m = Affine.scale(1.25).then(Affine.translate(10.25, 5.5))
    opacity = 0.75
    layers = LayerCache()
    comp = Compositor(W, H, layers=layers)
    for _ in range(3):
        compose(comp, [draw_op(m, 30, 20, opacity)], pic)
    assert (layers.recorded, layers.blits) == (1, 2)  # recorded and blitted on frame 2
    if change == "matrix_c":
        m = Affine(m.a, m.b, nudged(m.c), m.d, m.e, m.f)
    elif change == "matrix_a":
        m = Affine(nudged(m.a), m.b, m.c, m.d, m.e, m.f)
    elif change == "opacity":
        opacity = nudged(opacity)
    elif change == "content":
        pic = picture(30, 20, 2)
    else:  # equal bytes in new arrays: a new version all the same
        pic = pic.copy()
    op = draw_op(m, 30, 20, opacity)
    got = compose(comp, [op], pic, seed=3)
    assert layers.blits == 2  # the old record was not used
    same(got, compose(Compositor(W, H), [op], pic, seed=3))
    # the changed layer is recorded on its second frame and blitted from then on
    same(compose(comp, [op], pic, seed=4), compose(Compositor(W, H), [op], pic, seed=4))
    assert (layers.recorded, layers.blits) == (2, 3)


def test_the_layer_cache_stays_within_its_byte_budget():
    pic = picture(30, 20, 1)
    budget = 120_000
    layers = LayerCache(max_bytes=budget)
    comp = Compositor(W, H, layers=layers)
    plain = Compositor(W, H)
    sizes = []
    for i in range(12):
        op = draw_op(Affine.scale(1.2 + i / 20).then(Affine.translate(0.5 * i, 0.25)), 30, 20, 0.8)
        for frame in range(3):
            same(compose(comp, [op], pic, seed=frame), compose(plain, [op], pic, seed=frame))
        assert layers.nbytes <= budget
        sizes.append(layers.nbytes)
    assert layers.recorded == 12 and len(layers) < 12  # older records were dropped
    # a layer larger than the whole budget is warped every frame, not kept
    tiny = LayerCache(max_bytes=100)
    comp = Compositor(W, H, layers=tiny)
    op = draw_op(Affine.scale(2.9).then(Affine.translate(1.5, 0.5)), 30, 20, 0.8)
    for frame in range(3):
        same(compose(comp, [op], pic, seed=frame), compose(plain, [op], pic, seed=frame))
    assert len(tiny) == 0 and tiny.nbytes == 0 and tiny.blits == 0


def test_a_still_is_reduced_once_per_session_and_sampled_as_before():
    big = picture(400, 300, 5, alpha=False)
    mips = MipCache()
    comp = Compositor(W, H, mips=mips)
    plain = Compositor(W, H)
    for i in range(5):  # a Ken Burns zoom: the matrix changes every frame
        m = Affine.scale(0.2 * (1 + 0.03 * i)).then(Affine.translate(-3.25 * i, -1.5))
        op = draw_op(m, 400, 300)
        same(compose(comp, [op], big, seed=i), compose(plain, [op], big, seed=i))
    assert mips.built == 2  # levels 1 and 2, built on the first frame only
    assert 0 < mips.nbytes <= 200 * 150 * 3 // 2 + 100 * 75 * 3 // 2 + 4_000


# -- no per-frame allocation in the frame loop ----------------------------------------


def _draft(folder) -> None:
    """The vertical fixture, with a Ken Burns zoom on its photo and the photo again as a
    static corner logo (with the portrait video and the caption: every layer kind)."""
    path = folder / "draft_content.json"
    d = json.loads(path.read_text("utf-8"))
    photo_track = next(t for t in d["tracks"] if any(s.get("render_index") == 3 for s in t["segments"]))
    seg = photo_track["segments"][0]
    seg["common_keyframes"] = [
        {
            "id": "kb",
            "material_id": "",
            "property_type": "KFTypeScaleX",
            "keyframe_list": [
                {"id": f"k{i}", "curveType": "Line", "time_offset": t, "values": [v]}
                for i, (t, v) in enumerate(((0, 0.5), (2_000_000, 0.575)))
            ],
        }
    ]
    logo = json.loads(json.dumps(seg)) | {"id": "logo_seg", "common_keyframes": [], "render_index": 5}
    logo["clip"] = logo["clip"] | {"scale": {"x": 0.2, "y": 0.2}, "transform": {"x": 0.6, "y": 0.7}}
    d["tracks"].append({"id": "logo", "type": "video", "attribute": 0, "flag": 0, "segments": [logo]})
    path.write_text(json.dumps(d), "utf-8")


def _traced_growth(session, n: int) -> tuple[int, int]:
    """(peak − current at frame n, current at frame 2n − current at frame n) in bytes, over
    frames n .. 2n of the frame loop (tracemalloc on from the start)."""
    tl = session.timeline
    pool = [av.VideoFrame(tl.width, tl.height, "yuv420p") for _ in range(2)]
    views = [planes_of_frame(f, 0, writable=True) for f in pool]
    frames = session.composite(lambda: (pool[0], views[0]))
    tracemalloc.start()
    try:
        base = 0
        for i, _, _ in frames:
            if i == n - 1:
                gc.collect()
                tracemalloc.reset_peak()
                base = tracemalloc.get_traced_memory()[0]
            elif i == 2 * n - 1:
                gc.collect()
                current, peak = tracemalloc.get_traced_memory()
                return peak - base, current - base
        raise AssertionError("the draft is too short")
    finally:
        frames.close()
        tracemalloc.stop()


@pytest.fixture(scope="module")
def vertical_draft(tmp_path_factory, media_dir):
    folder = materialize("11_vertical_mixed_fit", tmp_path_factory.mktemp("alloc"), media_dir, scale=0.25)
    _draft(folder)
    return folder


OUT_W, OUT_H = 270, 480
# One full-frame luma plane; a single per-frame allocation of a frame-sized buffer exceeds it.
FRAME_BYTES = OUT_W * OUT_H
BOUND = FRAME_BYTES // 4


def _session(folder):
    session = open_draft(folder, RenderOptions(width=OUT_W, height=OUT_H))
    assert session.timeline.width == OUT_W
    return session


def test_the_frame_loop_allocates_no_picture_per_frame(vertical_draft, monkeypatch):
    # the static logo (an opaque photo) is recorded once, before the frames measured
    monkeypatch.setattr(compose_module, "CHEAP_WARP_DRAWS_BEFORE_RECORD", 4)
    peak, kept = _traced_growth(_session(vertical_draft), 15)
    assert peak < BOUND, f"frames 15..30 allocated {peak} bytes at once (bound {BOUND})"
    assert kept < BOUND, f"frames 15..30 kept {kept} bytes"


def test_the_allocation_check_sees_one_frame_buffer_per_frame(vertical_draft, monkeypatch):
    # The check above can fail: a frame-sized scratch allocated per frame is caught.
    compose = Compositor.compose

    def wasteful(self, plan, dst, pictures):
        tmp = np.empty((dst.height, dst.width), np.uint8)
        compose(self, plan, dst, pictures)
        tmp.fill(0)

    monkeypatch.setattr(Compositor, "compose", wasteful)
    peak, _ = _traced_growth(_session(vertical_draft), 15)
    assert peak >= BOUND


def test_caches_keep_no_picture_alive_and_a_reused_id_is_not_trusted(monkeypatch):
    import weakref

    from compositor.pixels import layer_cache

    layers, mips = LayerCache(), MipCache()
    comp = Compositor(W, H, layers=layers, mips=mips)
    pic = picture(30, 20, 1)
    op = draw_op(Affine.scale(1.25).then(Affine.translate(10.25, 5.5)), 30, 20, 0.75)
    for _ in range(3):
        compose(comp, [op], pic)
    assert layers.recorded == 1
    alive = weakref.ref(pic.y)
    del pic
    gc.collect()
    assert alive() is None  # the cache held no reference
    assert len(layers) == 1
    elsewhere = draw_op(Affine.scale(1.5).then(Affine.translate(1.25, 0.5)), 30, 20, 0.75)
    compose(comp, [elsewhere], picture(30, 20, 3))  # the next draw forgets the dead picture's record
    assert len(layers) == 0 and layers.nbytes == 0
    # Every picture gets the same identity: a new picture must still not use the old record.
    monkeypatch.setattr(layer_cache, "picture_identity", lambda p: (1,))
    first, other = picture(30, 20, 1), picture(30, 20, 2)
    for _ in range(2):
        compose(comp, [op], first)
    recorded = layers.recorded
    same(compose(comp, [op], other, seed=5), compose(Compositor(W, H), [op], other, seed=5))
    assert layers.recorded == recorded + 1  # recorded afresh, not blitted from first's record
    big, big2 = picture(400, 300, 5, alpha=False), picture(400, 300, 6, alpha=False)
    small = draw_op(Affine.scale(0.2).then(Affine.translate(3.5, 1.5)), 400, 300)
    compose(comp, [small], big)
    built = mips.built
    same(compose(comp, [small], big2, seed=2), compose(Compositor(W, H), [small], big2, seed=2))
    assert mips.built == built + 2  # big2's own levels, not big's
