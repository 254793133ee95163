"""Golden images of each text style feature, rasterised at a small size.

Every PNG under ``tests/golden/text/`` was generated once and looked at by a person (see
``docs/text.md``); the test re-rasterises and compares within a small tolerance. To
regenerate after an intended change: ``REGEN_TEXT_GOLDEN=1 pytest tests/test_text_golden.py``,
then look at every image again before committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.text_helpers import BLACK, RED, YELLOW, engine, shadow, spec, style

GOLDEN = Path(__file__).resolve().parent / "golden" / "text"
CANVAS = (480, 270)  # em = size × 6 × 270/1080 = 1.5 × size px
BACKGROUND = (40, 60, 160)


def _case(name):
    t = "剪映字幕测试"
    cases = {
        "plain": spec("你好，世界 Hi"),
        "stroke": spec("描边 Ab", style(0, 10, stroke=BLACK)),
        "shadow": spec("阴影 Sh", style(0, 10, shadows=[shadow(distance=12, diffuse=0.05)]), check_flag=39),
        "box": spec(
            "背景框 Box",
            style(0, 14),
            check_flag=23,
            background_color="#ffcc00",
            background_alpha=0.8,
            background_round_radius=0.4,
        ),
        "keyword": spec(
            t, style(0, 12, color=YELLOW, stroke=BLACK, bold=True), style(2, 4, color=RED, stroke=BLACK, bold=True)
        ),
        "bold": spec("加粗 Bold", style(0, 14, bold=True)),
        "italic": spec("斜体 Italic", style(0, 16, italic=True)),
        "underline": spec("下划线 Under", style(0, 18, underline=True, stroke=BLACK)),
        "vertical": spec("竖排文字\n第二列", style(0, 16, stroke=BLACK), type="text", typesetting=1),
        "wrap_right": spec(
            "一二三四五六七八九十一二三四五六七，八九", style(0, 40, size=10), alignment=2, line_max_width=0.5
        ),
        "flower": spec("花字效果", style(0, 8, color=YELLOW, effect="7351319129124506930")),
        # right to left, joined; the yellow style range (UTF-16 0..5) is the rightmost word
        "arabic": spec(
            "مرحبا بالعالم Hi", style(0, 32, stroke=BLACK), style(0, 5, color=YELLOW, stroke=BLACK), type="text"
        ),
    }
    return cases[name]


NAMES = [
    "plain",
    "stroke",
    "shadow",
    "box",
    "keyword",
    "bold",
    "italic",
    "underline",
    "vertical",
    "wrap_right",
    "flower",
    "arabic",
]


def render(name: str) -> np.ndarray:
    layer = engine().layer(_case(name), *CANVAS)
    rgba = layer.rgba().astype(np.float32) / 255.0
    a = rgba[..., 3:4]
    bg = np.array(BACKGROUND, np.float32) / 255.0
    rgb = rgba[..., :3] * a + bg * (1 - a)
    return (rgb * 255 + 0.5).astype(np.uint8)


@pytest.mark.parametrize("name", NAMES)
def test_text_feature_matches_its_golden_image(name):
    got = render(name)
    path = GOLDEN / f"{name}.png"
    if os.environ.get("REGEN_TEXT_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        Image.fromarray(got).save(path)
    want = np.asarray(Image.open(path).convert("RGB"))
    assert got.shape == want.shape, f"{name}: size {got.shape} != golden {want.shape}"
    diff = np.abs(got.astype(int) - want.astype(int)).max(axis=2)
    assert (diff > 8).mean() < 0.002 and diff.max() <= 64, (
        f"{name}: {int((diff > 8).sum())} pixels differ by more than 8 (max {diff.max()})"
    )


def test_features_change_pixels_where_expected():
    """Cheap semantic checks next to the goldens: the features really are there."""
    plain = engine().layer(spec("描边 Ab"), *CANVAS).rgba()
    stroked = engine().layer(_case("stroke"), *CANVAS).rgba()
    assert (stroked[..., 3] > 128).sum() > 1.3 * (plain[..., 3] > 128).sum()  # stroke adds coverage
    kw = engine().layer(_case("keyword"), *CANVAS).rgba()
    red = (kw[..., 0] > 200) & (kw[..., 1] < 60) & (kw[..., 3] > 250)
    yellow = (kw[..., 0] > 200) & (kw[..., 1] > 200) & (kw[..., 2] < 60) & (kw[..., 3] > 250)
    cols_red = np.nonzero(red.any(axis=0))[0]
    cols_yellow = np.nonzero(yellow.any(axis=0))[0]
    assert cols_red.min() > cols_yellow.min() and cols_red.max() < cols_yellow.max()  # 字幕 in the middle
    box = engine().layer(_case("box"), *CANVAS).rgba()
    assert (box[..., 3] > 0).mean() > 0.7  # the box fills the layer
    assert (box[..., 3] > 0).mean() > 2 * (plain[..., 3] > 0).mean()


def test_partition_shadows_only_shadow_the_keyword_and_a_bare_base_shadows_everything():
    sh = [shadow(alpha=1.0, distance=10, diffuse=0.0, angle=-90.0)]  # straight down, sharp
    parts = (style(0, 1, shadows=[]), style(1, 3, shadows=sh), style(3, 4, shadows=[]))
    layer = engine().layer(spec("一二三四", *parts, type="text"), *CANVAS)
    rgba = layer.rgba()
    dark = (rgba[..., 3] > 200) & (rgba[..., :3].max(axis=2) < 40)  # shadow pixels (black)
    cols = np.nonzero(dark.any(axis=0))[0]
    boxes = layer.layout.boxes
    left = layer.geo.to_raster(boxes[1].x, 0)[0]
    right = layer.geo.to_raster(boxes[3].x, 0)[0]
    assert cols.size and cols.min() >= left - 2 and cols.max() <= right + 2
    # a full-range base without a shadows key + a partial style with shadows: everything shadowed
    layer = engine().layer(spec("一二三四", style(0, 8), style(1, 3, shadows=sh), type="text"), *CANVAS)
    rgba = layer.rgba()
    dark = (rgba[..., 3] > 200) & (rgba[..., :3].max(axis=2) < 40)
    cols = np.nonzero(dark.any(axis=0))[0]
    assert cols.min() < layer.geo.to_raster(boxes[1].x, 0)[0] - 5
    assert cols.max() > layer.geo.to_raster(boxes[3].x, 0)[0] + 5
