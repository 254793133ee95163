"""Shared benchmark fixtures: the reference drafts (built once into .cache/bench)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures import reference

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "bench"


@pytest.fixture(scope="session")
def reference_20s() -> Path:
    return reference.build(CACHE, repeats=1, media_dir=CACHE / "media")


@pytest.fixture(scope="session")
def reference_120s() -> Path:
    return reference.build(CACHE, repeats=6, media_dir=CACHE / "media")


@pytest.fixture(scope="session")
def reference_20s_filter() -> Path:
    return reference.build(CACHE, repeats=1, media_dir=CACHE / "media", with_filter=True)


@pytest.fixture(scope="session")
def bench_results() -> dict:
    """Figures collected by the end-to-end benchmarks, printed by the summary test."""
    return {}
