"""Transition family (pure data): registry entries, implementation keys and their semantics.

JianYing's transition pixels are proprietary: each entry imitates one by name (docs/format.md#transitions)
with ffmpeg-``xfade``-like geometry; the pixels are in :mod:`compositor.pixels.transitions`.

``is_overlap`` (docs/format.md#transitions): implementations in :data:`HALVES` are defined as an "A out" half
followed by a "B in" half whatever the flag says. For the others ``overlap=False`` plays the
same effect twice — A → empty over the first half, empty → B over the second — where
"empty" is the canvas below the track, so A and B never mix.
"""

from __future__ import annotations

from ..registry import APPROXIMATED, EXACT, Entry

_A = APPROXIMATED


def _e(name: str, impl: str, rid: str = "", note: str = "", status: str = _A, aliases: tuple[str, ...] = ()) -> Entry:
    return Entry("transition", name, impl, status, resource_ids=(rid,) if rid else (), aliases=aliases, note=note)


# Resource ids: pyJianYingDraft's transition catalogue (metadata/transition_meta.py).
ENTRIES = (
    _e("叠化", "dissolve", "6724845717472416269", "linear crossfade", EXACT, aliases=("dissolve", "fade")),
    _e("溶解", "dissolve", note="linear crossfade"),
    _e("色彩溶解", "dissolve", "6724846004274729480", "linear crossfade"),
    _e("色彩溶解 II", "dissolve", "6724866927933526542", "linear crossfade"),
    _e("色彩溶解 III", "dissolve", "6724867032312975875", "linear crossfade"),
    _e("水滴溶解", "dissolve", note="linear crossfade"),
    _e("叠加", "dissolve", "6914112332205396488", "linear crossfade"),
    _e("闪黑", "fade_black", "6724239388189921806", "A fades to black, then black to B"),
    _e("闪白", "fade_white", "6724845376098013708", "A fades to white, then white to B"),
    _e("闪白 II", "fade_white", "7306818286413419017", "A fades to white, then white to B"),
    _e("泛白", "fade_white", "6949828109663212045", "A fades to white, then white to B"),
    _e("白光快闪", "fade_white", "7343136487182963211", "A fades to white, then white to B"),
    _e("向左擦除", "wipe_left", "6724849999336706573", "B revealed by an edge moving right → left"),
    _e("向右擦除", "wipe_right", "6724849898857959950", "B revealed by an edge moving left → right"),
    _e("向上擦除", "wipe_up", "6724849456891564557", "B revealed by an edge moving bottom → top"),
    _e("向下擦除", "wipe_down", "6724849752921346573", "B revealed by an edge moving top → bottom"),
    _e("渐变擦除", "wipe_soft", "6919369138800431629", "left → right wipe with a wide soft edge"),
    _e("左移", "push_left", "6726711499676455435", "push: A and B move left together"),
    _e("右移", "push_right", "6726711296063967748", "push: A and B move right together"),
    _e("上移", "push_up", "6724846395116753416", "push: A and B move up together"),
    _e("下移", "push_down", "6724849276100284942", "push: A and B move down together"),
    _e(
        "向左",
        "slide_left",
        "6724227717195108867",
        "whip: A slides out left, B slides in from the right (mirrored edges, motion blur)",
    ),
    _e("向右", "slide_right", "6724227599616184836", "whip: A slides out right, B slides in from the left"),
    _e("向上", "slide_up", "6724227090872275463", "whip: A slides out up, B slides in from below"),
    _e("向下", "slide_down", "6724227330190873100", "whip: A slides out down, B slides in from above"),
    _e("推近", "zoom_in", "6724226861666144779", "A zooms in ×2, then B zooms from ½ to 1 (mirrored edges)"),
    _e("拉远", "zoom_out", "6724226338418332167", "A zooms out to ½ (mirrored edges), then B from ×2 to 1"),
    _e("圆形遮罩", "circle_open", "6725767129519362573", "B revealed by a circle growing from the centre"),
    _e("圆形遮罩 II", "circle_open", "6724850215364334083", "B revealed by a circle growing from the centre"),
    _e("圆形扫描", "circle_scan", "6851775006418932238", "clockwise radial sweep from 12 o'clock"),
    _e("百叶窗", "blinds", "6789847331060584974", "8 horizontal slats opening downwards"),
    _e("马赛克", "mosaic", "6724866519022440967", "pixelate up to 1/24 frame width and back, crossfading"),
    _e("横向拉幕", "curtain_h", "6724492948144132621", "B revealed by a vertical slit opening sideways"),
    _e("竖向拉幕", "curtain_v", "6726711903684399619", "B revealed by a horizontal slit opening up and down"),
    _e("开幕", "curtain_v", "6750893890712113677", "B revealed by a horizontal slit opening up and down"),
    _e("模糊", "blur", "6911569618171597320", "Gaussian blur up to σ = 2% of the width and back, crossfading"),
    _e("竖向模糊", "blur_v", "7125661387568714247", "vertical blur up and back, crossfading"),
    _e("竖向模糊 II", "blur_v", "7280837008421818936", "vertical blur up and back, crossfading"),
    _e("横向模糊", "blur_h", note="horizontal blur up and back, crossfading"),
    _e("顺时针旋转", "rotate_cw", "6724226684721041932", "A and B turn 90° clockwise (zoomed to cover), crossfading"),
    _e("顺时针旋转 II", "rotate_cw", "7252544556799889975", "A and B turn 90° clockwise, crossfading"),
    _e("逆时针旋转", "rotate_ccw", "6724226603372515853", "A and B turn 90° anticlockwise, crossfading"),
    _e("逆时针旋转 II", "rotate_ccw", "7252544659245765179", "A and B turn 90° anticlockwise, crossfading"),
    _e("中心旋转", "spin", "6858191434294497805", "A spins and shrinks away, B spins and grows in (over black)"),
)

# Name of the fallback implementation for unknown transitions (reported as approximated).
FALLBACK = "dissolve"

# Implementations defined as "A out" then "B in" halves (is_overlap does not change them).
HALVES = frozenset(
    {"fade_black", "fade_white", "slide_left", "slide_right", "slide_up", "slide_down", "zoom_in", "zoom_out", "spin"}
)
# Every implementation key (the pixel side has one kernel per key: compositor.pixels.transitions).
IMPL_KEYS = frozenset(e.impl for e in ENTRIES)
