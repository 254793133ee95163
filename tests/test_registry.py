from pathlib import Path

from compositor.effects.animation import AnimationSpec, state_at
from compositor.registry import Entry, Registry, coverage_markdown, default_registry


def test_coverage_doc_is_current():
    doc = Path(__file__).resolve().parent.parent / "docs" / "coverage.md"
    assert doc.read_text("utf-8") == coverage_markdown(default_registry()), \
        "regenerate with: python -m compositor.registry > docs/coverage.md"


def test_lookup_by_resource_id_then_name():
    reg = Registry([Entry("transition", "A", "impl_a", resource_ids=("1",)),
                    Entry("transition", "B", "impl_b", aliases=("bee",))])
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
