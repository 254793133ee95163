"""Text engine timings (pytest-benchmark); not part of the default test run.

    pytest bench/test_bench_text.py --benchmark-only

* ``cold``: lay out and rasterise a two-line, 60-px, stroked and shadowed CJK caption on a
  1920×1080 canvas with empty shaping/glyph/layout caches (what the first frame of a new
  caption costs), to YUVA planes;
* ``warm``: the same raster again with warm glyph and layout caches (a second caption with
  the same characters, or a typewriter variant);
* ``draw``: the per-frame cost of the cached static caption in a 1080p composite — the
  compositor's warp+blend of its planes onto the frame (target < 2 ms);
* ``frame``: plan + pictures + composite of a whole frame (blue fill + caption).
"""

from __future__ import annotations

import numpy as np
import pytest

from compositor.pixels.compose import Compositor
from compositor.media.planes import Planes
from compositor.plan import DrawOp, plan_frame
from compositor.text import TextEngine, TextSpec
from compositor.text.fonts import FontSettings
from compositor.text.layout import ShapeCache
from compositor.text.pool import TextRasters
from compositor.text.raster import GlyphCache
from compositor.resolve import resolve
from tests.draft_helpers import facts_from_json, minimal_draft, parse, segment, track, video_material
from tests.text_helpers import BLACK, WHITE, content, shadow, style, text_material, text_segment, text_track

W, H = 1920, 1080
TEXT = "这是一条用来测试的两行字幕\n描边和阴影都打开了"
SIZE = 10  # em = 10 × 6 × 1080/1080 = 60 px


def caption_spec() -> TextSpec:
    st = style(0, 64, size=SIZE, color=WHITE, stroke=BLACK, shadows=[shadow(alpha=0.8, distance=6, diffuse=0.025)])
    return TextSpec(content=content(TEXT, st), type="subtitle", alignment=1, check_flag=47)


@pytest.fixture(scope="module")
def eng():
    return TextEngine(FontSettings(system_fonts=False))


def test_caption_raster_cold(benchmark, eng):
    sp = caption_spec()

    def cold():
        eng._layouts.clear()
        eng.shapes = ShapeCache()
        eng.glyphs = GlyphCache()
        return eng.layer(sp, W, H).planes()

    planes = benchmark(cold)
    assert planes.width > 600 and planes.height > 120


def test_caption_raster_warm(benchmark, eng):
    layer = eng.layer(caption_spec(), W, H)
    layer.planes()
    planes = benchmark(layer.planes)
    assert planes.a is not None


@pytest.fixture(scope="module")
def caption_timeline():
    mat = text_material("m", TEXT, style(0, 64, size=SIZE, stroke=BLACK, shadows=[shadow()]), check_flag=47)
    obj = minimal_draft(
        videos=[video_material("v", kind="photo")],
        texts=[mat],
        tracks=[
            track("v", "video", [segment("p", "v", 0, 10_000_000)]),
            text_track(
                "t",
                [
                    text_segment(
                        "s",
                        "m",
                        0,
                        10_000_000,
                        clip={
                            "alpha": 1.0,
                            "rotation": 0.0,
                            "flip": {"horizontal": False, "vertical": False},
                            "scale": {"x": 1.0, "y": 1.0},
                            "transform": {"x": 0.0, "y": -0.8},
                        },
                    )
                ],
            ),
        ],
    )
    d = parse(obj)
    return resolve(d, facts_from_json(d))


def _frame():
    return Planes(
        np.full((H, W), 41, np.uint8),
        np.full((H // 2, W // 2), 240, np.uint8),
        np.full((H // 2, W // 2), 110, np.uint8),
    )


def test_static_caption_draw_per_frame_1080p(benchmark, caption_timeline):
    tl = caption_timeline
    pool = TextRasters(tl)
    (op,) = [o for o in plan_frame(tl, 10).ops if isinstance(o, DrawOp) and o.kind == "text"]
    planes = pool(op)
    comp = Compositor(W, H)
    dst = _frame()
    benchmark(comp.draw, dst, op, planes)
    stats = benchmark.stats.stats
    assert stats.median < 0.002, f"caption draw takes {stats.median * 1e3:.2f} ms per frame"


def test_caption_frame_plan_and_composite_1080p(benchmark, caption_timeline):
    tl = caption_timeline
    pool = TextRasters(tl)
    comp = Compositor(W, H)
    dst = _frame()
    still = _frame()

    def pictures(op):
        return pool(op) if op.kind == "text" else still

    n = [0]

    def one():
        n[0] = (n[0] + 1) % 300
        comp.compose(plan_frame(tl, n[0]), dst, pictures)

    benchmark(one)
    assert pool.rasterised == 1
