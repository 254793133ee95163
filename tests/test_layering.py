"""The layering: the pure modules (draft data, timeline, resolve, plan, effect families) load
no pixel code. Each check runs in a fresh interpreter, so what other tests imported does not
count."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PURE_MODULES = (
    "compositor.draft",
    "compositor.timeline",
    "compositor.resolve",
    "compositor.plan",
    "compositor.visibility",
    "compositor.effects",
    "compositor.effects.transitions",
    "compositor.effects.animation",
    "compositor.effects.masks",
    "compositor.effects.blend_modes",
    "compositor.effects.filters",
    "compositor.effects.stickers",
    "compositor.effects.canvas",
    "compositor.pixels.yuv",
    "compositor.compound",
    "compositor.draft_tolerance",
    "compositor.legacy_keyframes",
    "compositor.draft_encryption",
    "compositor.jsonguard",
    "compositor.budgets",
    "compositor.egress",
    "compositor.paths",
)

# What a pure module must not pull in: the Numba kernels, Numba itself, PyAV.
FORBIDDEN = ("compositor.kernels", "numba", "av")

_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def _loaded_after_import(module: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, module], check=True, capture_output=True, text=True, timeout=120
    )
    return json.loads(out.stdout)


def _forbidden(loaded: list[str]) -> list[str]:
    return [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_a_pure_module_loads_no_kernels_numba_or_av(module):
    loaded = _loaded_after_import(module)
    assert module in loaded
    assert _forbidden(loaded) == []


def test_the_probe_sees_pixel_modules_when_they_are_imported():
    # the check above can fail: importing the compositor's pixel side does load the kernels
    assert "compositor.kernels" in _forbidden(_loaded_after_import("compositor.pixels.compose"))
