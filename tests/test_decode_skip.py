"""Decoding matched to what is visible: the occlusion predicate and per-source schedule
(pure), the scheduled VideoReader (shown frames bit-identical to a full decode), the
loop-filter decision and its PSNR cost at the output size, and whole renders."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from compositor.geometry import Affine
from compositor.media.probe import probe_media
from compositor.media.video_reader import VideoReader
from compositor.plan import BLACK_FILL, DrawOp, FillOp, FramePlan, is_occluded
from compositor.pictures import PicturePool
from compositor.pipeline import RenderOptions, open_draft
from compositor.visibility import (
    LOOP_FILTER_SKIP_MAX_SCALE,
    SourceVisibility,
    loop_filter_skippable,
    max_linear_scale,
    source_visibility,
    visibility_of_plans,
)
from fixtures.media import make_video
from tests.draft_helpers import minimal_draft, segment, track, video_material

W, H = 64, 36

# -- the occlusion predicate (pure) --------------------------------------------------------------


def _op(sid="a", *, matrix=None, w=W, h=H, opacity=1.0, alpha=False, blend="", mask=None, t=0) -> DrawOp:
    return DrawOp(
        segment_id=sid,
        media_key=sid,
        is_still=False,
        has_alpha=alpha,
        source_us=t,
        crop_px=(0, 0, w, h),
        matrix=matrix or Affine(),
        opacity=opacity,
        box=(0, 0, W, H),
        blend=blend,
        mask=mask,
    )


def test_an_opaque_full_frame_layer_occludes_everything_below():
    ops = (BLACK_FILL, _op("below"), _op("top"))
    assert is_occluded(ops, 1, W, H)
    assert is_occluded(ops, 0, W, H)
    assert not is_occluded(ops, 2, W, H)  # nothing above the top layer


@pytest.mark.parametrize(
    "top",
    [
        _op("top", matrix=Affine.scale(0.5)),  # partial cover
        _op("top", matrix=Affine.translate(1, 0)),  # one column uncovered
        _op("top", alpha=True),  # the picture has an alpha channel
        _op("top", opacity=0.999),
        _op("top", blend="screen"),
        _op("top", mask=object()),  # any mask (its shape does not matter)
        _op("top", matrix=Affine.rotate_cw(10).then(Affine.scale(3))),  # not axis-aligned
        FillOp((10, 20, 30, 200)),  # a translucent colour
    ],
    ids=["partial", "shifted", "alpha", "opacity", "blend", "mask", "rotated", "translucent-fill"],
)
def test_a_layer_that_does_not_paint_every_pixel_opaque_occludes_nothing(top):
    assert not is_occluded((BLACK_FILL, _op("below"), top), 1, W, H)


def test_an_enlarged_opaque_layer_covers_the_frame():
    top = _op("top", matrix=Affine.translate(-5, -5).then(Affine.scale(2)))
    assert is_occluded((BLACK_FILL, _op("below"), top), 1, W, H)


# -- per-source schedule (pure) ------------------------------------------------------------------


def test_visibility_lists_the_shown_source_times_and_the_largest_scale():
    small, big = Affine.scale(0.25), Affine(0.3, -0.4, 0, 0.4, 0.3, 0)  # rotation·0.5
    plans = [
        FramePlan(0, 0, (BLACK_FILL, _op("a", matrix=small, t=0))),
        FramePlan(1, 1, (BLACK_FILL, _op("a", matrix=big, t=66))),
        FramePlan(2, 2, (BLACK_FILL, _op("a", matrix=small, t=66), _op("b", t=5))),
        FramePlan(3, 3, (BLACK_FILL,)),
    ]
    vis = visibility_of_plans(plans, ["a", "b", "never"])
    assert vis["a"].shown_us == (0, 66) and vis["a"].first_us == 0 and vis["a"].in_order
    assert vis["a"].max_scale == pytest.approx(0.5)
    assert vis["b"].shown_us == (5,) and vis["b"].max_scale == pytest.approx(1.0)
    assert vis["never"].shown_us == () and vis["never"].first_us is None
    backwards = visibility_of_plans(plans[:2][::-1], ["a"])["a"]
    assert backwards.first_us == 66 and not backwards.in_order


def test_max_linear_scale_is_the_largest_singular_value():
    assert max_linear_scale(Affine.scale(0.5, 0.25)) == pytest.approx(0.5)
    assert max_linear_scale(Affine.rotate_cw(33).then(Affine.scale(0.4))) == pytest.approx(0.4)
    shear = Affine(1, 1, 0, 0, 1, 0)
    assert max_linear_scale(shear) == pytest.approx((1 + math.sqrt(5)) / 2)


@pytest.mark.parametrize(
    "scale, shown, expected",
    [(0.5, (0,), True), (0.25, (0, 1), True), (0.5001, (0,), False), (1.0, (0,), False), (0.0, (), False)],
)
def test_the_loop_filter_is_skipped_only_at_half_scale_or_less(scale, shown, expected):
    assert loop_filter_skippable(SourceVisibility("a", shown, scale, shown[0] if shown else None)) is expected
    assert LOOP_FILTER_SKIP_MAX_SCALE == 0.5


# -- the scheduled reader against a full decode --------------------------------------------------

FPS = 30
FRAME_US = 1_000_000 / FPS


def _grain(w, h):
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:h, 0:w]

    def frame(i, t):
        base = 120 + 70 * np.sin((xx + 3 * i) / 9.0) * np.cos((yy - 2 * i) / 7.0)
        rgb = np.clip(base[..., None] + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
        rgb[..., 1] = np.roll(rgb[..., 1], i, axis=1)
        return rgb

    return frame


@pytest.fixture(scope="module")
def grainy(tmp_path_factory):
    """3 s, 30 fps, keyframe every 0.5 s, x264 veryfast (B-frames, some not referenced)."""
    path = tmp_path_factory.mktemp("skip") / "grain.mp4"
    make_video(path, w=96, h=64, dur_s=3.0, frame_fn=_grain(96, 64), crf=20, gop=15)
    return path


def _planes_bytes(p) -> tuple[int, bytes, bytes, bytes]:
    return p.pts_us, p.y.tobytes(), p.u.tobytes(), p.v.tobytes()


def _read(path, times, **kw):
    info = probe_media(path)
    with VideoReader(path, info, start_us=times[0], **kw) as r:
        frames = [_planes_bytes(r.frame_at(t)) for t in times]
        return frames, r.stats


def _times(frames):
    return [int(round(n * FRAME_US)) for n in frames]


CASES = {
    "speed2": _times(range(0, 90, 2)),
    "speed3": _times(range(1, 90, 3)),
    "speed2.5": [int(round(n * FRAME_US * 2.5)) for n in range(36)],
    "occluded-middle": _times([*range(0, 20), *range(70, 90)]),
    "occluded-start": _times(range(45, 90)),
    "two-gaps": _times([0, 1, 2, 40, 41, 80, 89]),
    "past-the-end": _times([0, 30, 60]) + [5_000_000],
}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", list(CASES))
def test_scheduled_reader_shows_what_a_full_decode_shows(grainy, case, threads):
    times = CASES[case]
    full, full_stats = _read(grainy, times, threads=threads)
    got, stats = _read(grainy, times, threads=threads, shown_us=times)
    assert got == full
    distinct = len({f[0] for f in full})
    assert stats.converted <= distinct + 1  # at most the frame held at a jump besides them
    if case in ("occluded-start", "past-the-end"):  # every frame from the start is shown
        assert stats.decoded <= full_stats.decoded
    else:
        assert stats.decoded < full_stats.decoded


def test_a_speed_up_leaves_unreferenced_frames_undecoded(grainy):
    times = CASES["speed2"]
    _, full_stats = _read(grainy, times, threads=1)
    _, stats = _read(grainy, times, threads=1, shown_us=times)
    assert full_stats.decoded == 90
    assert stats.decoded < 80  # x264's non-reference B-frames between two shown times
    assert stats.converted == len(times)


def test_a_covered_stretch_is_skipped_by_a_seek(grainy):
    times = CASES["occluded-middle"]
    _, stats = _read(grainy, times, threads=1, shown_us=times)
    assert stats.seeks == 1
    assert stats.decoded <= 20 + 15 + 20  # the stretch's GOPs before 70 are not decoded


def test_a_time_outside_the_schedule_falls_back_to_a_full_decode(grainy):
    times = CASES["speed2"]
    asked = times[:10] + [times[10] + int(FRAME_US)] + times[11:]
    full, _ = _read(grainy, asked, threads=1)
    got, _ = _read(grainy, asked, threads=1, shown_us=times)
    assert got == full


# -- the loop filter: cost at the output size ---------------------------------------------------


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def _half(plane: np.ndarray) -> np.ndarray:
    h, w = plane.shape[0] // 2 * 2, plane.shape[1] // 2 * 2
    return plane[:h, :w].reshape(h // 2, 2, w // 2, 2).astype(np.float64).mean(axis=(1, 3))


def test_skipping_the_loop_filter_costs_less_than_the_threshold_at_half_size(tmp_path):
    path = make_video(tmp_path / "g.mp4", w=192, h=128, dur_s=2.0, frame_fn=_grain(192, 128), crf=18, gop=60)
    info = probe_media(path)
    times = _times(range(60))
    worst = math.inf
    differs = False
    with VideoReader(path, info, threads=1) as full, VideoReader(path, info, threads=1, skip_loop_filter=True) as fast:
        assert fast.loop_filter_skipped
        for t in times:
            a, b = full.frame_at(t), fast.frame_at(t)
            differs |= a.y.tobytes() != b.y.tobytes()
            for pa, pb in ((a.y, b.y), (a.u, b.u), (a.v, b.v)):
                worst = min(worst, _psnr(_half(np.asarray(pa)), _half(np.asarray(pb))))
    assert differs  # the option took effect
    assert worst >= 45.0


# -- whole renders ------------------------------------------------------------------------------


def _render_frames(folder, **opts):
    session = open_draft(folder, RenderOptions(**opts))
    return [f.tobytes() for _, f in session.frames(format="yuv420p")], session


def _write(tmp_path, obj):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "draft_content.json").write_text(json.dumps(obj))
    return folder


def _layered_draft(tmp_path, grainy):
    """N under F all along; F at 2× (covered by U from 0.6 s); U covered by T 0.6–0.9 s."""
    mat = video_material("v", 96, 64, 3_000_000) | {"path": str(grainy)}
    segs = [
        segment("N", "v", 0, 600_000, src_start=200_000, render_index=1),
        segment("F", "v", 0, 1_200_000, speed=2.0, render_index=2),
        segment("U", "v", 600_000, 600_000, src_start=100_000, render_index=3),
        segment("T", "v", 600_000, 300_000, src_start=1_500_000, render_index=4),
    ]
    obj = minimal_draft(
        width=96, height=64, videos=[mat], tracks=[track(f"t{i}", "video", [s]) for i, s in enumerate(segs)]
    )
    return _write(tmp_path, obj)


def test_render_with_speed_up_and_cover_is_identical_to_a_full_decode(tmp_path, grainy):
    folder = _layered_draft(tmp_path, grainy)
    base, _ = _render_frames(folder, decode_visible_only=False, skip_loop_filter=False)
    got, session = _render_frames(folder)
    assert got == base
    vis = source_visibility(session.timeline)
    assert vis["N"].shown_us == ()
    f = vis["F"].shown_us  # 0.6 s at 2×: every other source frame
    assert len(f) == 18 and f[0] == 0 and all(abs(b - a - 2 * FRAME_US) < 2 for a, b in zip(f, f[1:]))
    assert vis["U"].first_us == 100_000 + 300_000 and vis["U"].in_order
    assert len(vis["T"].shown_us) == 9


def test_the_pool_never_opens_a_source_that_is_never_shown(tmp_path, grainy):
    folder = _layered_draft(tmp_path, grainy)
    session = open_draft(folder, RenderOptions())
    opened = []

    class Recorder:
        def __init__(self, path, info, **kw):
            opened.append((kw["start_us"], kw.get("shown_us") is not None))

        def close(self):
            pass

    tl = session.timeline
    vis = source_visibility(tl)
    with PicturePool(tl, session.catalog, reader_factory=Recorder, visibility=vis) as pool:
        for n in range(tl.frame_count):
            pool.advance(tl.timeline_us(n))
    assert sorted(opened) == [(0, True), (400_000, True), (1_500_000, True)]  # F, U, T (not N)


class _WrongIndex(VideoReader):
    """A reader whose keyframe index claims a keyframe at every frame (seeks land early)."""

    def _open_av(self):
        super()._open_av()
        self._keyframes_us = [int(round(n * FRAME_US)) for n in range(120)]


@pytest.mark.parametrize("case", ["two-gaps", "occluded-middle", "speed3"])
def test_a_wrong_keyframe_index_costs_work_not_correctness(grainy, case):
    times = CASES[case]
    full, _ = _read(grainy, times, threads=1)
    info = probe_media(grainy)
    with _WrongIndex(grainy, info, start_us=times[0], threads=1, shown_us=times) as r:
        got = [_planes_bytes(r.frame_at(t)) for t in times]
    assert got == full


def _scaled_clip(scale):
    return {
        "alpha": 1.0,
        "rotation": 0.0,
        "flip": {"horizontal": False, "vertical": False},
        "scale": {"x": scale, "y": scale},
        "transform": {"x": 0.0, "y": 0.0},
    }


@pytest.mark.parametrize("enabled", [True, False])
def test_the_pool_skips_the_loop_filter_only_for_sources_drawn_at_half_or_less(tmp_path, grainy, enabled):
    mat = video_material("v", 96, 64, 3_000_000) | {"path": str(grainy)}
    segs = [
        segment("L", "v", 0, 300_000, src_start=0, clip=_scaled_clip(0.6), render_index=1),
        segment("S", "v", 0, 300_000, src_start=1_000_000, clip=_scaled_clip(0.5), render_index=2),
    ]
    obj = minimal_draft(
        width=96, height=64, videos=[mat], tracks=[track(f"t{i}", "video", [s]) for i, s in enumerate(segs)]
    )
    session = open_draft(_write(tmp_path, obj), RenderOptions())
    seen = {}

    class Recorder:
        def __init__(self, path, info, **kw):
            seen[kw["start_us"]] = kw["skip_loop_filter"]

        def close(self):
            pass

    tl = session.timeline
    vis = source_visibility(tl)
    assert vis["S"].max_scale == pytest.approx(0.5) and vis["L"].max_scale == pytest.approx(0.6)
    with PicturePool(tl, session.catalog, reader_factory=Recorder, visibility=vis, skip_loop_filter=enabled) as pool:
        pool.advance(0)
    assert seen == {0: False, 1_000_000: enabled}
