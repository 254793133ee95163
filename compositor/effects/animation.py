"""Animation family (pure): in / out / group / loop animations as data → per-frame state.

JianYing animations are proprietary; each registry entry imitates one by name (docs/format.md#animations).
An implementation is a function of progress ``p`` in [0, 1] returning an
:class:`AnimState`, which the planner combines with the clip's own values and keyframes:
alpha and scale multiply, offsets and rotation add. The same entries serve video/photo
segments and text segments (JianYing uses the same names for both; the resource ids of
both catalogues are listed). Text-only effects act on the caption's raster: ``reveal``
(typewriter: the fraction of characters shown) and ``wipe_lo``/``wipe_hi`` (the visible
horizontal window of a feathered wipe); a video clip ignores them.

Timing (docs/format.md#animations): ``in`` runs over ``[start, start + duration)`` and is the identity after;
``out`` runs over its window and is the identity before; ``group`` spans its window; ``loop``
repeats with period ``duration`` from ``start`` until the out animation begins (or the
segment ends).

Units: ``dx``/``dy`` in clip-transform units (half canvas width / height, y up), rotation in
degrees clockwise. Slides move :data:`SLIDE` (a quarter of the canvas) with a fade; moves
ease out on the way in (cubic) and ease in on the way out.

Resource ids: the catalogues capcut-mate vendors from pyJianYingDraft
(``metadata/{video_intro,video_outro,video_group_animation,text_intro,text_outro,text_loop}.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Callable

from ..registry import APPROXIMATED, EXACT, Entry


@dataclass(frozen=True, slots=True)
class AnimState:
    alpha: float = 1.0  # multiplies opacity
    scale: float = 1.0  # multiplies both scale axes
    dx: float = 0.0  # added to clip x (half-canvas widths, right positive)
    dy: float = 0.0  # added to clip y (half-canvas heights, up positive)
    rotation: float = 0.0  # added degrees, clockwise
    reveal: float = 1.0  # text: fraction of characters shown (typewriter)
    wipe_lo: float = 0.0  # text: visible window [lo, hi] of the layer width (feathered)
    wipe_hi: float = 1.0

    def combine(self, other: "AnimState") -> "AnimState":
        return AnimState(
            self.alpha * other.alpha,
            self.scale * other.scale,
            self.dx + other.dx,
            self.dy + other.dy,
            self.rotation + other.rotation,
            min(self.reveal, other.reveal),
            max(self.wipe_lo, other.wipe_lo),
            min(self.wipe_hi, other.wipe_hi),
        )

    @property
    def wipe(self) -> tuple[float, float]:
        return self.wipe_lo, self.wipe_hi


IDENTITY = AnimState()


@dataclass(frozen=True, slots=True)
class AnimationSpec:
    """One animation of a segment, resolved against the registry."""

    type: str  # "in" | "out" | "group" | "loop"
    name: str
    impl: str  # key into IMPLS
    start_us: int  # relative to the segment start
    duration_us: int
    resource_id: str = ""


def smooth(p: float) -> float:
    """Smoothstep easing (for approximations that should start and stop gently)."""
    return p * p * (3 - 2 * p)


def ease_out(p: float) -> float:
    """Cubic ease-out: fast start, gentle arrival."""
    return 1.0 - (1.0 - p) ** 3


def ease_in(p: float) -> float:
    """Cubic ease-in: gentle start, fast departure."""
    return p**3


def back_out(p: float, overshoot: float = 1.70158) -> float:
    """Ease-out with overshoot: 0 → ~1.1 → 1 (the 'bounce' of 弹入); exact at both ends."""
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    q = p - 1.0
    return 1.0 + (overshoot + 1.0) * q**3 + overshoot * q**2


SLIDE = 0.5  # slide distance, half-canvas units (¼ of the canvas)
SHAKE = 0.02  # 轻微抖动 amplitude, half-canvas units
SHAKE_AXIS = 0.05  # 左右抖动 / 上下抖动 amplitude
JUMP = 0.05  # 跳动 height, half-canvas heights
SWING = 10.0  # 摇摆 / 钟摆 amplitude, degrees
BREATHE = 0.06  # 呼吸: scale swings 1 → 1 + BREATHE → 1
PULSE = 0.15  # 缩放 group: scale 1 → 1 ± PULSE → 1


def _slide_in(ux: float, uy: float) -> Callable[[float], AnimState]:
    """Move along (ux, uy) into place: start SLIDE behind, fade in."""
    return lambda p: AnimState(alpha=p, dx=-ux * SLIDE * (1.0 - ease_out(p)), dy=-uy * SLIDE * (1.0 - ease_out(p)))


def _slide_out(ux: float, uy: float) -> Callable[[float], AnimState]:
    """Leave along (ux, uy), fading out."""
    return lambda p: AnimState(alpha=1.0 - p, dx=ux * SLIDE * ease_in(p), dy=uy * SLIDE * ease_in(p))


def _shake(ax: float, ay: float) -> Callable[[float], AnimState]:
    """Decaying deterministic shake: six x and five y oscillations, amplitude → 0 at p = 1."""

    def fn(p: float) -> AnimState:
        k = 1.0 - p
        return AnimState(dx=ax * k * math.sin(2 * math.pi * 6 * p), dy=ay * k * math.sin(2 * math.pi * 5 * p + 1.0))

    return fn


# impl key -> function(p) -> AnimState; p runs 0 -> 1 over the animation window.
IMPLS: dict[str, Callable[[float], AnimState]] = {
    # in
    "fade_in": lambda p: AnimState(alpha=p),
    "slide_in_left": _slide_in(-1.0, 0.0),
    "slide_in_right": _slide_in(1.0, 0.0),
    "slide_in_up": _slide_in(0.0, 1.0),
    "slide_in_down": _slide_in(0.0, -1.0),
    "zoom_in_small": lambda p: AnimState(alpha=p, scale=0.5 + 0.5 * ease_out(p)),
    "zoom_in_large": lambda p: AnimState(alpha=p, scale=1.5 - 0.5 * ease_out(p)),
    "zoom_in_slight": lambda p: AnimState(alpha=p, scale=0.9 + 0.1 * ease_out(p)),
    "pop_in": lambda p: AnimState(alpha=min(1.0, 3.0 * p), scale=max(0.0, back_out(p))),
    "spin_in": lambda p: AnimState(alpha=p, rotation=-360.0 * (1.0 - ease_out(p))),
    "pendulum_in": lambda p: AnimState(
        alpha=min(1.0, 2.0 * p), rotation=3 * SWING * (1.0 - p) * math.cos(2 * math.pi * 1.5 * p)
    ),
    "shake_in": _shake(SHAKE, SHAKE),
    "shake_in_x": _shake(SHAKE_AXIS, 0.0),
    "shake_in_y": _shake(0.0, SHAKE_AXIS),
    "typewriter_in": lambda p: AnimState(reveal=p),
    "wipe_in_right": lambda p: AnimState(wipe_hi=p),
    "wipe_in_left": lambda p: AnimState(wipe_lo=1.0 - p),
    # out
    "fade_out": lambda p: AnimState(alpha=1.0 - p),
    "slide_out_left": _slide_out(-1.0, 0.0),
    "slide_out_right": _slide_out(1.0, 0.0),
    "slide_out_up": _slide_out(0.0, 1.0),
    "slide_out_down": _slide_out(0.0, -1.0),
    "zoom_out_grow": lambda p: AnimState(alpha=1.0 - p, scale=1.0 + 0.5 * ease_in(p)),
    "zoom_out_shrink": lambda p: AnimState(alpha=1.0 - p, scale=1.0 - 0.5 * ease_in(p)),
    "zoom_out_slight": lambda p: AnimState(alpha=1.0 - p, scale=1.0 + 0.1 * ease_in(p)),
    "pop_out": lambda p: AnimState(alpha=min(1.0, 3.0 * (1.0 - p)), scale=max(0.0, back_out(1.0 - p))),
    "spin_out": lambda p: AnimState(alpha=1.0 - p, rotation=360.0 * ease_in(p)),
    "typewriter_out": lambda p: AnimState(reveal=1.0 - p),
    "wipe_out_right": lambda p: AnimState(wipe_lo=p),
    "wipe_out_left": lambda p: AnimState(wipe_hi=1.0 - p),
    # loop (p runs 0 → 1 once per period)
    "blink": lambda p: AnimState(alpha=0.5 + 0.5 * math.cos(2 * math.pi * p)),
    "breathe": lambda p: AnimState(scale=1.0 + BREATHE * (0.5 - 0.5 * math.cos(2 * math.pi * p))),
    "jump": lambda p: AnimState(dy=JUMP * math.sin(math.pi * p)),
    "jump_small": lambda p: AnimState(dy=0.5 * JUMP * math.sin(math.pi * p)),
    "swing": lambda p: AnimState(rotation=SWING * math.sin(2 * math.pi * p)),
    "spin_loop": lambda p: AnimState(rotation=360.0 * p),
    "scroll_left": lambda p: AnimState(dx=2.0 - 4.0 * p),
    # group (p runs 0 → 1 over the whole window, usually the segment)
    "pulse": lambda p: AnimState(scale=1.0 + PULSE * math.sin(math.pi * p)),
    "pulse_ii": lambda p: AnimState(scale=1.0 - PULSE * math.sin(math.pi * p)),
    "spin_shrink": lambda p: AnimState(
        alpha=min(1.0, 4.0 * p), rotation=360.0 * (1.0 - ease_out(p)), scale=1.5 - 0.5 * ease_out(p)
    ),
    "spin_fall": lambda p: AnimState(
        alpha=min(1.0, 4.0 * p), rotation=180.0 * (1.0 - ease_out(p)), dy=SLIDE * (1.0 - ease_out(p))
    ),
    "spin_rise": lambda p: AnimState(
        alpha=min(1.0, 4.0 * p), rotation=-180.0 * (1.0 - ease_out(p)), dy=-SLIDE * (1.0 - ease_out(p))
    ),
}

_A = APPROXIMATED


def _in(name: str, impl: str, rids: Iterable[str] = (), note: str = "", status: str = _A) -> Entry:
    return Entry("animation_in", name, impl, status, resource_ids=tuple(rids), note=note)


def _out(name: str, impl: str, rids: Iterable[str] = (), note: str = "", status: str = _A) -> Entry:
    return Entry("animation_out", name, impl, status, resource_ids=tuple(rids), note=note)


def _loop(name: str, impl: str, rids: Iterable[str] = (), note: str = "", status: str = _A) -> Entry:
    return Entry("animation_loop", name, impl, status, resource_ids=tuple(rids), note=note)


def _group(name: str, impl: str, rids: Iterable[str] = (), note: str = "", status: str = _A) -> Entry:
    return Entry("animation_group", name, impl, status, resource_ids=tuple(rids), note=note)


_SLIDE_IN = "enters from the opposite side, ¼ canvas, ease-out, with a fade"
_SLIDE_OUT = "leaves that way, ¼ canvas, ease-in, with a fade"
_TYPE_IN = "characters appear one by one (text only)"
_TYPE_OUT = "characters disappear one by one from the end (text only)"

# Resource ids: (video catalogue, text catalogue) where both have the name.
ENTRIES = (
    # -- in (入场) ---------------------------------------------------------------------
    _in("渐显", "fade_in", ("6798320778182922760", "6724916044072227332"), "opacity 0 → 1", EXACT),
    _in("向左滑动", "slide_in_left", ("6798332871267324423", "6763470195894784525"), _SLIDE_IN),
    _in("向右滑动", "slide_in_right", ("6798333076469453320", "6724920136056181256"), _SLIDE_IN),
    _in("向上滑动", "slide_in_up", ("6798333487523828238", "6763470111253729803"), _SLIDE_IN),
    _in("向下滑动", "slide_in_down", ("6798333705401143816", "6724921985282871816"), _SLIDE_IN),
    _in("放大", "zoom_in_small", ("6798332733694153230", "6724919499042066958"), "scale 0.5 → 1 with a fade"),
    _in("缩小", "zoom_in_large", ("6798332584276267527", "6724921217721045515"), "scale 1.5 → 1 with a fade"),
    _in("缩小 II", "zoom_in_large", ("7041836555903701540",), "scale 1.5 → 1 with a fade"),
    _in("轻微放大", "zoom_in_slight", ("6800268825611735559", "6763469998330483213"), "scale 0.9 → 1 with a fade"),
    _in("动感放大", "zoom_in_small", ("6740867832570974733",), "scale 0.5 → 1 with a fade (motion blur omitted)"),
    _in("动感缩小", "zoom_in_large", ("6740868384637850120",), "scale 1.5 → 1 with a fade (motion blur omitted)"),
    _in("弹入", "pop_in", ("6887482184844710413",), "scale 0 → 1.1 → 1 (overshoot), quick fade"),
    _in("旋转", "spin_in", ("6798334070653719054",), "one clockwise turn into place with a fade"),
    _in("钟摆", "pendulum_in", ("6803260897117606414",), "decaying ±30° swing with a fade"),
    _in("轻微抖动", "shake_in", ("6739418227031413256",), "decaying small shake (1% canvas)"),
    _in("轻微抖动 II", "shake_in", ("6739418677910704651",), "decaying small shake (1% canvas)"),
    _in("轻微抖动 III", "shake_in", ("6781683302672634382",), "decaying small shake (1% canvas)"),
    _in("左右抖动", "shake_in_x", ("6739418540421419524",), "decaying horizontal shake (2.5% canvas)"),
    _in("上下抖动", "shake_in_y", ("6739418390030455300",), "decaying vertical shake (2.5% canvas)"),
    _in("打字机 I", "typewriter_in", ("6724920249654710791",), _TYPE_IN),
    _in("打字机 II", "typewriter_in", ("6724920636403094028",), _TYPE_IN),
    _in("打字机 III", "typewriter_in", ("6724920521462387207",), _TYPE_IN),
    _in("复古打字机", "typewriter_in", ("7253888335163167291",), _TYPE_IN),
    _in("居中打字", "typewriter_in", ("7265222187286532667",), _TYPE_IN + "; the block does not re-centre"),
    _in("逐字显影", "typewriter_in", ("7038882772450021896",), _TYPE_IN + " (no per-character fade)"),
    _in("羽化向右擦开", "wipe_in_right", ("6897084405781631496",), "feathered wipe revealing left → right (text only)"),
    _in("羽化向左擦开", "wipe_in_left", ("6897084292908716557",), "feathered wipe revealing right → left (text only)"),
    _in("模糊", "fade_in", ("6923094735116571150",), "fade in (blur → sharp omitted)"),
    # -- out (出场) --------------------------------------------------------------------
    _out("渐隐", "fade_out", ("6798320902548230669", "6724919382104871427"), "opacity 1 → 0", EXACT),
    _out("向左滑动", "slide_out_left", ("6798332972098392584", "6763873602476446221"), _SLIDE_OUT),
    _out("向右滑动", "slide_out_right", ("6798333350487527950", "6724920744431587853"), _SLIDE_OUT),
    _out("向上滑动", "slide_out_up", ("6798333612958683656", "6763873533115240968"), _SLIDE_OUT),
    _out("向下滑动", "slide_out_down", ("6798333787986989576", "6724919284893487619"), _SLIDE_OUT),
    _out("放大", "zoom_out_grow", ("6798332801864176142", "6724919767200698884"), "scale 1 → 1.5 with a fade"),
    _out("放大 II", "zoom_out_grow", ("7042278078415901192",), "scale 1 → 1.5 with a fade"),
    _out("缩小", "zoom_out_shrink", ("6798332648814023181", "6724921351385125387"), "scale 1 → 0.5 with a fade"),
    _out("轻微放大", "zoom_out_slight", ("6800268611807089166", "6763469915518145032"), "scale 1 → 1.1 with a fade"),
    _out("弹出", "pop_out", ("6887482090351235592",), "scale 1 → 1.1 → 0 (overshoot), quick fade"),
    _out("旋转", "spin_out", ("6798334141323547143",), "one clockwise turn away with a fade"),
    _out("打字机 I", "typewriter_out", ("6763469696260903435",), _TYPE_OUT),
    _out("打字机 II", "typewriter_out", ("6763469767555682823",), _TYPE_OUT),
    _out("打字机 III", "typewriter_out", ("6763469838368117256",), _TYPE_OUT),
    _out("居中打字", "typewriter_out", ("7265222263174074937",), _TYPE_OUT),
    _out("羽化向右擦除", "wipe_out_right", ("6897085341811872270",), "feathered wipe hiding left → right (text only)"),
    _out("羽化向左擦除", "wipe_out_left", ("6897085246206906893",), "feathered wipe hiding right → left (text only)"),
    _out("模糊", "fade_out", ("6923094772907250189",), "fade out (sharp → blur omitted)"),
    # -- loop (循环, text) ----------------------------------------------------------------
    _loop("闪烁", "blink", ("6724921437930394120",), "opacity 1 → 0 → 1 (cosine) each period"),
    _loop("呼吸", "breathe", (), "scale 1 → 1.06 → 1 (cosine) each period"),
    _loop("放大缩小", "breathe", ("7224077152587616805",), "scale 1 → 1.06 → 1 (cosine) each period"),
    _loop("跳动", "jump", ("6724920002958332420",), "rises 2.5% of the canvas and lands each period"),
    _loop("轻微跳动", "jump_small", ("6884155832838132231",), "rises 1.25% of the canvas and lands each period"),
    _loop("摇摆", "swing", ("6724920869363126795",), "±10° sine swing each period"),
    _loop("钟摆", "swing", ("6724921579517514248",), "±10° sine swing each period"),
    _loop("旋转", "spin_loop", ("6763900973946507784",), "one clockwise turn each period"),
    _loop(
        "弹幕滚动", "scroll_left", ("6790247082155315719",), "scrolls right → left across twice the canvas each period"
    ),
    # -- group (组合, video/photo) ------------------------------------------------------------
    _group("缩放", "pulse", ("6759078592740594184",), "scale 1 → 1.15 → 1 over the window"),
    _group("缩放 II", "pulse_ii", ("6779083172429697544",), "scale 1 → 0.85 → 1 over the window"),
    _group("旋转缩小", "spin_shrink", ("6759046644462785037",), "turns in while shrinking 1.5 → 1"),
    _group("缩小旋转", "spin_shrink", ("6760119657429996046",), "turns in while shrinking 1.5 → 1"),
    _group("旋转降落", "spin_fall", ("6759046515521491464",), "half turn while falling ¼ canvas into place"),
    _group("旋转上升", "spin_rise", ("6813965670716281352",), "half turn while rising ¼ canvas into place"),
)


def progress(spec: AnimationSpec, local_us: int, out_start_us: int) -> float | None:
    """Progress of ``spec`` at ``local_us`` from the segment start, or None when inactive."""
    if spec.duration_us <= 0:
        return None
    rel = local_us - spec.start_us
    if spec.type == "in":
        if rel >= spec.duration_us:
            return None
        return min(max(rel / spec.duration_us, 0.0), 1.0)
    if spec.type == "out":
        if rel < 0:
            return None
        return min(rel / spec.duration_us, 1.0)
    if spec.type == "loop":
        if rel < 0 or local_us >= out_start_us:
            return None
        return (rel % spec.duration_us) / spec.duration_us
    return min(max(rel / spec.duration_us, 0.0), 1.0)  # group


def state_at(specs: tuple[AnimationSpec, ...], local_us: int, segment_duration_us: int) -> AnimState:
    """Combined animation state of a segment at ``local_us`` from its start."""
    if not specs:
        return IDENTITY
    out_start = min((s.start_us for s in specs if s.type == "out"), default=segment_duration_us)
    state = IDENTITY
    for s in specs:
        fn = IMPLS.get(s.impl)
        if fn is None:
            continue
        p = progress(s, local_us, out_start)
        if p is None:
            continue
        state = state.combine(fn(p))
    return state


__all__ = [
    "AnimState",
    "AnimationSpec",
    "IMPLS",
    "ENTRIES",
    "state_at",
    "progress",
    "IDENTITY",
    "smooth",
    "ease_in",
    "ease_out",
    "back_out",
]
