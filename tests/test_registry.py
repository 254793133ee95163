from pathlib import Path

import pytest

from compositor.effects.animation import AnimationSpec, state_at
from compositor.registry import Entry, Registry, coverage_markdown, default_registry


def test_coverage_doc_is_current():
    doc = Path(__file__).resolve().parent.parent / "docs" / "coverage.md"
    assert doc.read_text("utf-8") == coverage_markdown(default_registry()), (
        "regenerate with: python -m compositor.registry > docs/coverage.md"
    )


def test_lookup_by_resource_id_then_name():
    reg = Registry(
        [Entry("transition", "A", "impl_a", resource_ids=("1",)), Entry("transition", "B", "impl_b", aliases=("bee",))]
    )
    assert reg.lookup("transition", "whatever", "1").impl == "impl_a"
    assert reg.lookup("transition", "bee").impl == "impl_b"
    assert reg.lookup("transition", "C") is None
    assert reg.lookup("mask", "A") is None


def test_every_entry_has_an_implementation():
    import compositor.effects.animation as anim

    for e in default_registry().entries():
        if e.kind.startswith("animation_"):
            assert e.impl in anim.IMPLS, e


def test_animation_windows():
    fade_in = AnimationSpec("in", "渐显", "fade_in", 0, 500_000)
    fade_out = AnimationSpec("out", "渐隐", "fade_out", 1_500_000, 500_000)
    specs = (fade_in, fade_out)
    assert state_at(specs, 0, 2_000_000).alpha == 0.0
    assert state_at(specs, 250_000, 2_000_000).alpha == 0.5
    assert state_at(specs, 1_000_000, 2_000_000).alpha == 1.0
    assert state_at(specs, 1_750_000, 2_000_000).alpha == 0.5
    assert state_at(specs, 2_000_000, 2_000_000).alpha == 0.0


# --- every family: each registry entry has code behind it, and the catalogues agree ------------
# (these were module-level asserts in the family modules; ``python -O`` strips those)


def _family_tables() -> dict[str, set[str]]:
    """Registry kind -> the implementation keys its code dispatches on (import paths in one place)."""
    import compositor.effects.animation as animation
    import compositor.kernels.blend_mode as blend_mode
    import compositor.pixels.filters as filters
    import compositor.pixels.masks as masks
    import compositor.pixels.transitions as transitions

    animations = set(animation.IMPLS)
    return {
        "transition": set(transitions._IMPLS),
        "animation_in": animations,
        "animation_out": animations,
        "animation_loop": animations,
        "animation_group": animations,
        "mask": set(masks.SHAPES),
        "mix_mode": set(blend_mode.MODES),
        "effect": set(filters._IMPLS),
        "filter": set(filters._IMPLS),
    }


# families drawn by code that has no dispatch table: checked below through resolve
_RESOLVED_FAMILIES = {"sticker", "canvas"}


def test_every_family_is_checked():
    assert set(default_registry().kinds()) == set(_family_tables()) | _RESOLVED_FAMILIES


@pytest.mark.parametrize("kind", sorted(_family_tables()))
def test_every_entry_of_a_family_has_an_implementation(kind):
    impls = _family_tables()[kind]
    entries = default_registry().entries(kind)
    assert entries
    missing = [e for e in entries if e.impl not in impls]
    assert not missing, missing


def test_transition_catalogue_matches_its_implementations():
    from compositor.effects.transitions import IMPL_KEYS
    from compositor.pixels.transitions import _IMPLS

    assert IMPL_KEYS == set(_IMPLS), IMPL_KEYS ^ set(_IMPLS)


def test_filter_catalogue_matches_its_implementations():
    from compositor.effects.filters import IMPL_KEYS
    from compositor.pixels.filters import _IMPLS

    assert set(_IMPLS) == IMPL_KEYS, set(_IMPLS) ^ IMPL_KEYS


def test_sticker_family_is_the_one_entry_resolve_uses():
    # every sticker is drawn as a still picture under the "image sticker" entry (resolve looks it up by name)
    assert [(e.name, e.impl) for e in default_registry().entries("sticker")] == [("image sticker", "still")]


_CANVAS_MATERIALS = {
    "canvas_color": ({"color": "#112233FF"}, "color"),
    "canvas_blur": ({"blur": 0.375}, "blur"),
    "canvas_image": ({"image": "bg.png"}, "image"),
}


@pytest.mark.parametrize("entry", default_registry().entries("canvas"), ids=lambda e: e.name)
def test_every_canvas_entry_resolves_to_a_background(entry):
    from compositor.resolve import resolve
    from compositor.timeline import MediaFacts
    from tests.draft_helpers import facts_from_json, minimal_draft, parse, segment, track, video_material

    assert entry.name in _CANVAS_MATERIALS, entry
    fields, background_kind = _CANVAS_MATERIALS[entry.name]
    draft = parse(
        minimal_draft(
            videos=[video_material("v", w=640, h=480)],
            tracks=[track("t", "video", [segment("s", "v", 0, 10**6, refs=["c"])])],
            canvases=[{"id": "c", "type": entry.name, **fields}],
        )
    )
    media = facts_from_json(draft)
    media["c"] = MediaFacts(
        path="/media/bg.png",
        kind="image",
        width=64,
        height=64,
        coded_width=64,
        coded_height=64,
        duration_us=0,
        has_audio=False,
    )
    timeline = resolve(draft, media)
    backgrounds = [getattr(clip, "background", None) for t in timeline.tracks for clip in t.clips]
    assert [b.kind for b in backgrounds if b is not None] == [background_kind]
