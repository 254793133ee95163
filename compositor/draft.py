"""The draft model (pure): msgspec Structs mirroring ``draft_content.json``.

Only fields a renderer reads are declared; unknown fields are ignored, so drafts from newer
JianYing builds still load. Every field has the default the draft format gives for a missing key
(``docs/format.md``); a ``null`` or wrongly typed cosmetic value takes that
default too (:mod:`compositor.draft_tolerance`). Structural type errors become
:class:`DraftError` carrying the JSON path of the offending value (e.g.
``$.tracks[2].segments[0].target_timerange.start``); an encrypted file is
:class:`DraftEncrypted`. Both keyframe layouts (segment ``common_keyframes`` and CapCut 1.x's
top-level ``keyframes``) end up in ``Segment.common_keyframes``
(:mod:`compositor.legacy_keyframes`).
"""

from __future__ import annotations

import os
from typing import Any

import msgspec

from .draft_encryption import looks_encrypted
from .draft_tolerance import Rejected, convert_tolerant
from .errors import DraftEncrypted, DraftError
from .jsonguard import find_non_finite, json_depth_error, may_hold_non_finite
from .timebase import fps_fraction

# -- small value types --------------------------------------------------------------------


class TimeRange(msgspec.Struct, frozen=True):
    """Half-open ``[start, start + duration)`` in microseconds."""

    start: int = 0
    duration: int = 0

    @property
    def end(self) -> int:
        return self.start + self.duration


class XY(msgspec.Struct, frozen=True):
    x: float = 0.0
    y: float = 0.0


class Scale(msgspec.Struct, frozen=True):
    """A scale pair: a missing (or null) axis is 1, not 0."""

    x: float = 1.0
    y: float = 1.0


class Flip(msgspec.Struct, frozen=True):
    horizontal: bool = False
    vertical: bool = False


class Clip(msgspec.Struct, frozen=True):
    alpha: float = 1.0
    flip: Flip = Flip()
    rotation: float = 0.0
    scale: Scale = Scale()
    transform: XY = XY(0.0, 0.0)


class UniformScale(msgspec.Struct, frozen=True):
    on: bool = True
    value: float = 1.0


class Keyframe(msgspec.Struct, frozen=True):
    time_offset: int = 0
    values: list[float] = []
    curveType: str = "Line"


class KeyframeList(msgspec.Struct, frozen=True):
    property_type: str = ""
    keyframe_list: list[Keyframe] = []
    id: str = ""


class LegacyKeyframe(msgspec.Struct, frozen=True):
    """One entry of CapCut 1.x's top-level ``keyframes.<kind>[]``: the values of a
    segment's properties at ``time_offset`` (µs from the segment start). A property left
    out (or null) is not keyframed by this entry. Entries already in the newer per-property
    shape (``property_type`` + ``keyframe_list``) are accepted as well."""

    id: str = ""
    time_offset: int = 0
    curveType: str = "Line"
    position: XY | None = None
    scale: Scale | None = None
    rotation: float | None = None
    alpha: float | None = None
    volume: float | None = None
    brightness_value: float | None = None
    contrast_value: float | None = None
    saturation_value: float | None = None
    property_type: str = ""
    keyframe_list: list[Keyframe] = []


class LegacyKeyframes(msgspec.Struct, frozen=True):
    """CapCut 1.x's top-level ``keyframes`` object, one list per segment kind."""

    videos: list[LegacyKeyframe] = []
    audios: list[LegacyKeyframe] = []
    texts: list[LegacyKeyframe] = []
    stickers: list[LegacyKeyframe] = []
    effects: list[LegacyKeyframe] = []
    filters: list[LegacyKeyframe] = []
    adjusts: list[LegacyKeyframe] = []
    handwrites: list[LegacyKeyframe] = []


class Crop(msgspec.Struct, frozen=True):
    upper_left_x: float = 0.0
    upper_left_y: float = 0.0
    upper_right_x: float = 1.0
    upper_right_y: float = 0.0
    lower_left_x: float = 0.0
    lower_left_y: float = 1.0
    lower_right_x: float = 1.0
    lower_right_y: float = 1.0

    def rect(self) -> tuple[float, float, float, float]:
        """Axis-aligned bounds (x0, y0, x1, y1) of the crop quad, fractions of the frame."""
        xs = (self.upper_left_x, self.upper_right_x, self.lower_left_x, self.lower_right_x)
        ys = (self.upper_left_y, self.upper_right_y, self.lower_left_y, self.lower_right_y)
        return min(xs), min(ys), max(xs), max(ys)

    def is_rectangular(self) -> bool:
        return (
            self.upper_left_x == self.lower_left_x
            and self.upper_right_x == self.lower_right_x
            and self.upper_left_y == self.upper_right_y
            and self.lower_left_y == self.lower_right_y
        )


# -- materials ----------------------------------------------------------------------------


class VideoMaterial(msgspec.Struct, frozen=True):
    """``materials.videos[]``: a video, GIF (type "video") or still (type "photo")."""

    id: str
    type: str = "video"
    path: str = ""
    width: int = 0
    height: int = 0
    duration: int = 0
    crop: Crop = Crop()
    material_name: str = ""


class AudioMaterial(msgspec.Struct, frozen=True):
    id: str
    type: str = "extract_music"
    path: str = ""
    duration: int = 0
    name: str = ""


class SpeedMaterial(msgspec.Struct, frozen=True):
    id: str
    type: str = "speed"
    speed: float = 1.0
    mode: int = 0
    curve_speed: Any = None


class TransitionMaterial(msgspec.Struct, frozen=True):
    id: str
    type: str = "transition"
    name: str = ""
    effect_id: str = ""
    resource_id: str = ""
    duration: int = 0
    is_overlap: bool = True


class Animation(msgspec.Struct, frozen=True):
    type: str = ""
    name: str = ""
    id: str = ""
    resource_id: str = ""
    start: int = 0
    duration: int = 0
    material_type: str = ""


class AnimationContainer(msgspec.Struct, frozen=True):
    id: str
    type: str = "sticker_animation"
    animations: list[Animation] = []


class AudioFade(msgspec.Struct, frozen=True):
    id: str
    type: str = "audio_fade"
    fade_in_duration: int = 0
    fade_out_duration: int = 0
    fade_type: int = 0


class MaskConfig(msgspec.Struct, frozen=True):
    centerX: float = 0.0
    centerY: float = 0.0
    width: float = 1.0
    height: float = 1.0
    aspectRatio: float = 1.0
    rotation: float = 0.0
    feather: float = 0.0
    invert: bool = False
    roundCorner: float = 0.0


class MaskMaterial(msgspec.Struct, frozen=True):
    id: str
    type: str = "mask"
    name: str = ""
    resource_type: str = ""
    resource_id: str = ""
    effect_id: str = ""
    config: MaskConfig = MaskConfig()


class CanvasMaterial(msgspec.Struct, frozen=True):
    id: str
    type: str = "canvas_color"
    color: str = "#00000000"
    blur: float = 0.0625
    image: str = ""


class EffectMaterial(msgspec.Struct, frozen=True):
    """``materials.effects[]`` (filter, text_shape, text_effect, mix_mode) and
    ``materials.video_effects[]`` (video_effect, face_effect) share these fields."""

    id: str
    type: str = ""
    name: str = ""
    effect_id: str = ""
    resource_id: str = ""
    value: float = 1.0
    apply_target_type: int = 0
    adjust_params: list[Any] = []


class TextMaterial(msgspec.Struct, frozen=True):
    """``materials.texts[]``; ``content`` is a JSON string (parsed by the text engine)."""

    id: str = ""
    type: str = "text"
    content: str = ""
    typesetting: int = 0
    alignment: int = 0
    letter_spacing: float = 0.0
    line_spacing: float = 0.02
    line_max_width: float = 0.82
    force_apply_line_max_width: bool = False
    check_flag: int = 7
    global_alpha: float = 1.0
    background_style: int = 1
    background_color: str = ""
    background_alpha: float = 1.0
    background_round_radius: float = 0.0
    background_width: float = 0.14
    background_height: float = 0.14
    background_horizontal_offset: float = 0.0
    background_vertical_offset: float = 0.0
    font_size: float = 0.0


class StickerMaterial(msgspec.Struct, frozen=True):
    id: str
    type: str = "sticker"
    resource_id: str = ""
    sticker_id: str = ""
    path: str = ""


class AudioEffectMaterial(msgspec.Struct, frozen=True):
    id: str
    type: str = "audio_effect"
    name: str = ""
    resource_id: str = ""


class ChromaMaterial(msgspec.Struct, frozen=True):
    id: str
    type: str = "chroma"
    color: str = "#00000000"
    intensity_value: float = 0.0


class Materials(msgspec.Struct, frozen=True):
    videos: list[VideoMaterial] = []
    drafts: list["CompoundMaterial"] = []
    audios: list[AudioMaterial] = []
    texts: list[TextMaterial] = []
    stickers: list[StickerMaterial] = []
    video_effects: list[EffectMaterial] = []
    effects: list[EffectMaterial] = []
    speeds: list[SpeedMaterial] = []
    transitions: list[TransitionMaterial] = []
    material_animations: list[AnimationContainer] = []
    audio_fades: list[AudioFade] = []
    masks: list[MaskMaterial] = []
    common_mask: list[MaskMaterial] = []
    canvases: list[CanvasMaterial] = []
    audio_effects: list[AudioEffectMaterial] = []
    chromas: list[ChromaMaterial] = []


# -- tracks and segments ------------------------------------------------------------------


class Segment(msgspec.Struct, frozen=True):
    id: str = ""
    material_id: str = ""
    target_timerange: TimeRange = TimeRange()
    source_timerange: TimeRange | None = None
    speed: float = 1.0
    volume: float = 1.0
    visible: bool = True
    reverse: bool = False
    is_tone_modify: bool = False
    extra_material_refs: list[str] = []
    clip: Clip | None = None
    uniform_scale: UniformScale | None = None
    common_keyframes: list[KeyframeList] = []
    keyframe_refs: list[str] = []  # CapCut 1.x: ids in the top-level keyframes
    render_index: int = 0


class Track(msgspec.Struct, frozen=True):
    id: str = ""
    type: str = ""
    name: str = ""
    attribute: int = 0
    segments: list[Segment] = []

    @property
    def muted(self) -> bool:
        return bool(self.attribute & 1)


class CanvasConfig(msgspec.Struct, frozen=True):
    width: int = 1920
    height: int = 1080
    ratio: str = "original"


class DraftConfig(msgspec.Struct, frozen=True):
    video_mute: bool = False


class Draft(msgspec.Struct, frozen=True):
    canvas_config: CanvasConfig = CanvasConfig()
    fps: float = 30.0
    duration: int = 0
    tracks: list[Track] = []
    materials: Materials = Materials()
    config: DraftConfig | None = None
    id: str = ""
    name: str = ""
    keyframes: LegacyKeyframes | None = None  # CapCut 1.x store (see legacy_keyframes)
    dropped_values: tuple[str, ...] = ()  # filled by parse_draft: values ignored


class CompoundMaterial(msgspec.Struct, frozen=True):
    """``materials.drafts[]``: a compound clip's nested draft (docs/compound-clips.md).

    A video segment whose material has an empty path names this entry's ``id`` in its
    ``extra_material_refs``; ``draft`` is a whole draft (canvas, tracks, materials)."""

    id: str
    type: str = "combination"
    name: str = ""
    combination_id: str = ""
    draft: Draft | None = None


# -- decoding -----------------------------------------------------------------------------

_JSON = msgspec.json.Decoder()


#: default nesting limit of draft JSON (``Limits.max_json_depth``)
MAX_JSON_DEPTH = 64


def _decode_out_of_range(raw: bytes | str) -> Any:
    import json

    try:
        return json.loads(raw)
    except ValueError as exc:
        raise DraftError(f"not valid JSON: {exc}", "$") from exc


def parse_draft(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Draft:
    """Decode ``draft_content.json`` bytes into a :class:`Draft`.

    Cosmetic values of the wrong type (or ``null``) are dropped and default, their paths
    listed in ``Draft.dropped_values`` (:mod:`compositor.draft_tolerance`). Raises
    :class:`DraftEncrypted` for an encrypted file, else :class:`DraftError` with the JSON
    path of the first structural value that is wrong: also for JSON nested deeper than
    ``max_depth`` and for NaN/±inf numbers.
    """
    if isinstance(raw, (bytes, bytearray, memoryview)) and bytes(raw[:3]) == b"\xef\xbb\xbf":
        raw = bytes(raw[3:])  # a UTF-8 byte order mark (Windows editors)
    too_deep = json_depth_error(raw, max_depth)
    if too_deep is not None:
        raise DraftError(f"JSON nested deeper than {max_depth} levels", too_deep[1])
    out_of_range = False
    try:
        tree = _JSON.decode(raw)
    except msgspec.ValidationError:
        # valid JSON with a number beyond float range (1e999): the stdlib reads it as ±inf, so
        # the non-finite check below names its JSON path
        tree, out_of_range = _decode_out_of_range(raw), True
    except msgspec.DecodeError as exc:
        if looks_encrypted(raw):
            raise DraftEncrypted() from exc
        raise DraftError(f"not valid JSON: {exc}", "$") from exc
    except RecursionError:  # not reached after the depth guard; never a traceback
        raise DraftError("JSON nested too deeply", "$") from None
    _forget_bookkeeping(tree)
    try:
        draft, dropped = convert_tolerant(tree, Draft)
    except Rejected as exc:
        raise DraftError(exc.message, exc.path) from exc
    non_finite = find_non_finite(draft) if out_of_range or may_hold_non_finite(raw) else None
    if non_finite is not None:
        raise DraftError(f"number must be finite, got {non_finite[1]}", non_finite[0])
    from .legacy_keyframes import with_legacy_keyframes  # imports this module's types

    draft = with_legacy_keyframes(draft)
    if dropped:
        draft = msgspec.structs.replace(draft, dropped_values=dropped)
    _check(draft)
    return draft


def _forget_bookkeeping(tree: object) -> None:
    """``dropped_values`` is ours, never the JSON's: drop a key of that name from the draft and
    from every draft nested in its compound clips (``materials.drafts[].draft``)."""
    if not isinstance(tree, dict):
        return
    tree.pop("dropped_values", None)
    materials = tree.get("materials")
    entries = materials.get("drafts") if isinstance(materials, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict):
            _forget_bookkeeping(entry.get("draft"))


def _check(draft: Draft) -> None:
    """Semantic checks msgspec's types cannot express (segment times and speeds of nested
    drafts too; a nested canvas or fps only stops its compound clip, see compositor.compound)."""
    cc = draft.canvas_config
    if cc.width <= 0 or cc.height <= 0:
        raise DraftError(f"canvas size must be positive, got {cc.width}x{cc.height}", "$.canvas_config")
    try:
        fps_fraction(draft.fps)  # 1e-300 is > 0 but no frame rate (rounds to 0/1)
    except (ValueError, OverflowError):
        raise DraftError(f"fps must be a positive frame rate (at least 1/1001), got {draft.fps}", "$.fps") from None
    from .compound import nested_drafts_with_paths  # imports this module's types

    for prefix, d in [("$", draft), *nested_drafts_with_paths(draft)]:
        _check_segments(d, prefix)


def _check_segments(draft: Draft, prefix: str) -> None:
    for ti, track in enumerate(draft.tracks):
        for si, seg in enumerate(track.segments):
            path = f"{prefix}.tracks[{ti}].segments[{si}]"
            if seg.target_timerange.duration < 0 or seg.target_timerange.start < 0:
                raise DraftError("target_timerange must have start >= 0 and duration >= 0", path + ".target_timerange")
            if seg.source_timerange is not None and (
                seg.source_timerange.start < 0 or seg.source_timerange.duration < 0
            ):
                raise DraftError("source_timerange must have start >= 0 and duration >= 0", path + ".source_timerange")
            if seg.speed < 0:
                raise DraftError(f"speed must be >= 0, got {seg.speed}", path + ".speed")


def load_draft(path: str | os.PathLike[str], *, max_depth: int = MAX_JSON_DEPTH) -> Draft:
    """Read and parse a ``draft_content.json`` file."""
    with open(path, "rb") as fh:
        return parse_draft(fh.read(), max_depth=max_depth)
