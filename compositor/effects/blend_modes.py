"""Mix-mode family (pure data): ``materials.effects[]`` of type ``mix_mode`` (docs/format.md#mix-modes-and-chroma).

A segment that references a mix mode is composited onto the layers below with that
separable blend mode instead of plain alpha-over (:mod:`compositor.kernels.blend_mode`).
The formulas are the standard W3C compositing ones (marked exact); soft light is marked
approximated because its definition varies between applications.
"""

from __future__ import annotations

from ..registry import APPROXIMATED, EXACT, Entry

# Resource ids: pyJianYingDraft's metadata/mix_mode_meta.py.
ENTRIES = (
    Entry("mix_mode", "正片叠底", "multiply", EXACT, ("6758325895519277582",), ("multiply",), note="b·s"),
    Entry("mix_mode", "滤色", "screen", EXACT, ("6758325170760323597",), ("screen",), note="b + s − b·s"),
    Entry(
        "mix_mode",
        "叠加",
        "overlay",
        EXACT,
        ("6758324989931295240",),
        ("overlay",),
        note="hard light with layers swapped",
    ),
    Entry(
        "mix_mode",
        "柔光",
        "soft_light",
        APPROXIMATED,
        ("6758325439212556814",),
        ("soft light",),
        note="W3C soft light (applications differ)",
    ),
    Entry("mix_mode", "强光", "hard_light", EXACT, ("6758325264670790152",), ("hard light",)),
    Entry("mix_mode", "变亮", "lighten", EXACT, ("6758324919789949453",), ("lighten",), note="max(b, s)"),
    Entry("mix_mode", "变暗", "darken", EXACT, ("6758324839670354445",), ("darken",), note="min(b, s)"),
    Entry("mix_mode", "颜色减淡", "color_dodge", EXACT, ("6758325800031752712",), ("color dodge",), note="b / (1 − s)"),
    Entry(
        "mix_mode", "颜色加深", "color_burn", EXACT, ("6758325724848853518",), ("color burn",), note="1 − (1 − b) / s"
    ),
    Entry("mix_mode", "线性加深", "linear_burn", EXACT, ("6758325619253056013",), ("linear burn",), note="b + s − 1"),
)
