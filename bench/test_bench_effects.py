"""Per-frame cost at 1920×1080 of the effect kernels (docs/effects.md), and a 1080p render with a
transition and a filter active (not part of the default test run)::

    /work/venv/bin/pytest bench/test_bench_effects.py --benchmark-only --benchmark-columns=mean,min,max

Every benchmark processes one whole 1080p YUV 4:2:0 picture (Y + U + V) the way the
compositor does, so its mean is the cost the effect adds to a frame:

* transition — ``transitions.blend`` with ``dst`` = B (as ``Compositor.transition`` calls it);
* mask — the alpha planes of a full-frame mask (computed once per clip when static; the
  per-frame cost with a translucent source is the ``multiply`` line);
* blend — a full-frame layer composited with a blend mode (layer warp + RGB blend);
* filter — the filter/effect families applied to a full frame (LUT = the YUV colour matrix);
* Gaussian blur — the three-box blur of all three planes.

``test_render_*`` encode a 6 s 1080p draft (two clips, a 1 s 向右擦除 wipe and a filter track
over everything: 冷调 = a colour matrix, 复古胶片 = matrix + film grain) and the same draft
without them; ``extra_info`` has frames per second. Film grain is fresh noise every frame, so
most of its cost is x264's, not the compositor's.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from compositor import RenderOptions, open_draft
from compositor.pixels import filters as F
from compositor.pixels import transitions as T
from compositor.draft import MaskConfig, MaskMaterial
from compositor.geometry import Affine
from compositor.kernels import gaussian_like_blur
from compositor.kernels.blend_mode import MODES, blend_yuv, warp_layer
from compositor.kernels.mask import multiply_alpha
from compositor.effects.masks import mask_spec
from compositor.pixels.masks import render_mask
from compositor.media.planes import Planes
from compositor.pixels.scratch import Scratch

W, H = 1920, 1080
RNG = np.random.default_rng(5)


def picture() -> Planes:
    """A textured valid picture (random luma, smooth chroma)."""
    y = RNG.integers(16, 236, (H, W), dtype=np.uint8)
    yy, xx = np.mgrid[0 : H // 2, 0 : W // 2]
    u = (128 + 50 * np.sin(xx / 40.0)).astype(np.uint8)
    v = (128 + 50 * np.cos(yy / 30.0)).astype(np.uint8)
    return Planes(y, u, v)


@pytest.fixture(scope="module")
def ab():
    return picture(), picture()


@pytest.fixture(scope="module")
def scratch():
    return Scratch()


# -- transitions ------------------------------------------------------------------------------

TRANSITIONS = [
    "dissolve",
    "fade_black",
    "wipe_right",
    "circle_open",
    "circle_scan",
    "blinds",
    "curtain_h",
    "push_left",
    "slide_left",
    "zoom_in",
    "zoom_out",
    "rotate_cw",
    "spin",
    "mosaic",
    "blur",
    "blur_v",
]


@pytest.mark.parametrize("kind", TRANSITIONS)
def test_transition(benchmark, ab, scratch, kind):
    a, b = ab
    dst = b.copy()

    def run():
        T.blend(kind, dst, a, dst, 0.4, scratch=scratch)

    benchmark(run)


# -- masks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, cfg",
    [
        ("圆形", dict(width=0.5, height=0.8, feather=0.2)),
        ("爱心", dict(width=0.5, height=0.8)),
        ("星形", dict(width=0.5, height=0.8, rotation=10)),
        ("矩形", dict(width=0.7, height=0.7, roundCorner=0.4)),
    ],
)
def test_mask_alpha_full_frame(benchmark, name, cfg):
    from compositor.registry import default_registry

    e = default_registry().lookup("mask", name)
    spec = mask_spec(MaskMaterial(id="m", name=name, config=MaskConfig(**cfg)), e.impl, W, H, 0)
    a = np.empty((H, W), np.uint8)
    ah = np.empty((H // 2, W // 2), np.uint8)
    benchmark(render_mask, spec, a, ah)


def test_mask_multiply_with_source_alpha(benchmark):
    a, m = RNG.integers(0, 256, (2, H, W), dtype=np.uint8)
    ah, mh = RNG.integers(0, 256, (2, H // 2, W // 2), dtype=np.uint8)
    out, outh = np.empty_like(a), np.empty_like(ah)

    def run():
        multiply_alpha(out, a, m)
        multiply_alpha(outh, ah, mh)

    benchmark(run)


# -- blend modes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["multiply", "screen", "overlay", "soft_light", "color_dodge"])
def test_blend_mode_full_frame_layer(benchmark, ab, scratch, mode):
    a, b = ab
    dst = b.copy()
    layer = scratch.picture("bench_layer", W, H, alpha=True)
    m = Affine.translate(-W / 2, -H / 2).then(Affine.rotate_cw(3)).then(Affine.translate(W / 2, H / 2))
    inv = np.array([[v for v in row] for row in m.inverse().rows()])
    inv_c = np.array([[v for v in row] for row in m.halved().inverse().rows()])

    def run():
        warp_layer(layer.y, layer.a, a.y, None, inv, 1.0, (0, 0, W, H), empty=16)
        warp_layer(layer.u, None, a.u, None, inv_c, 1.0, (0, 0, W // 2, H // 2), empty=128)
        warp_layer(layer.v, None, a.v, None, inv_c, 1.0, (0, 0, W // 2, H // 2), empty=128)
        blend_yuv(dst.y, dst.u, dst.v, layer.y, layer.u, layer.v, layer.a, MODES[mode], (0, 0, W, H))

    benchmark(run)


# -- filters and effects -----------------------------------------------------------------------------

FAMILIES = [
    "desaturate",
    "warm",
    "vintage",
    "fade",
    "sharpen",
    "grain",
    "pixelate",
    "bloom",
    "flash",
    "rgb_split",
    "shake",
    "blur",
    "motion_blur_h",
    "bars_open",
    "border",
]


@pytest.mark.parametrize("impl", FAMILIES)
def test_filter_family(benchmark, ab, scratch, impl):
    a, _ = ab
    pic = a.copy()
    spec = F.AdjustSpec("filter", impl, impl, strength=0.8)
    benchmark(F.apply, spec, pic, 300_000, 2_000_000, scratch)


@pytest.mark.parametrize("sigma", [4.0, 23.0, 60.0])
def test_gaussian_blur_full_frame(benchmark, ab, scratch, sigma):
    a, _ = ab
    pic = a.copy()

    def run():
        for plane, s in ((pic.y, sigma), (pic.u, sigma / 2), (pic.v, sigma / 2)):
            gaussian_like_blur(plane, plane, s, scratch.plane_like("bench_tmp", plane))

    benchmark(run)


# -- end to end ----------------------------------------------------------------------------------------


def _draft(tmp, effects: str):
    from fixtures.media import make_video
    from tests.draft_helpers import minimal_draft, segment, track, video_material

    clips = []
    for name, colour in (("a", (200, 60, 40)), ("b", (40, 90, 200))):
        path = tmp / f"{name}.mp4"
        if not path.exists():
            make_video(path, w=W, h=H, dur_s=3.0, pattern="quad" if name == "a" else "solid", color=colour)
        clips.append(video_material(name, W, H, 3_000_000) | {"path": str(path)})
    refs = ["tr"] if effects else []
    tracks = [
        track("v", "video", [segment("A", "a", 0, 3_000_000, refs=refs), segment("B", "b", 3_000_000, 3_000_000)])
    ]
    if effects:
        tracks.append(
            track(
                "f",
                "filter",
                [
                    {
                        "id": "F",
                        "material_id": "flt",
                        "render_index": 2,
                        "target_timerange": {"start": 0, "duration": 6_000_000},
                    }
                ],
            )
        )
    obj = minimal_draft(
        videos=clips,
        tracks=tracks,
        transitions=[{"id": "tr", "type": "transition", "name": "向右擦除", "duration": 1_000_000, "is_overlap": True}],
        effects=[{"id": "flt", "type": "filter", "name": effects or "-", "value": 0.8}],
    )
    folder = tmp / (f"fx_{effects}" if effects else "plain")
    folder.mkdir(exist_ok=True)
    (folder / "draft_content.json").write_text(json.dumps(obj, ensure_ascii=False))
    return folder


@pytest.mark.parametrize("effects", ["", "冷调", "复古胶片"], ids=["plain", "wipe+cool", "wipe+vintage_grain"])
def test_render_1080p(benchmark, tmp_path_factory, effects):
    tmp = tmp_path_factory.getbasetemp() / "bench_effects"
    tmp.mkdir(exist_ok=True)
    folder = _draft(tmp, effects)
    out = tmp / f"out_{effects or 'plain'}.mp4"

    def run():
        t0 = time.perf_counter()
        result = open_draft(folder, RenderOptions(preset="veryfast")).render(out)
        benchmark.extra_info["fps"] = round(result.frames / (time.perf_counter() - t0), 1)
        return result

    result = benchmark.pedantic(run, rounds=2, iterations=1, warmup_rounds=1)
    assert result.frames == 180
