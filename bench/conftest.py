"""Shared benchmark fixtures: the reference drafts (built once into .cache/bench; the media
of each kind are generated once and reused by later runs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixtures import reference, shorts

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
def reference_phone_20s() -> Path:
    return reference.build(CACHE, repeats=1, media_dir=CACHE / "media-phone", phone=True)


@pytest.fixture(scope="session")
def reference_phone_120s() -> Path:
    return reference.build(CACHE, repeats=6, media_dir=CACHE / "media-phone", phone=True)


@pytest.fixture(scope="session")
def shorts_draft() -> Path:
    """The photo short, 60 s (or BENCH_SHORTS_SECONDS: its first seconds, a multiple of 5)."""
    return shorts.build(
        CACHE, seconds=int(os.environ.get("BENCH_SHORTS_SECONDS", "60")), media_dir=CACHE / "media-shorts"
    )


@pytest.fixture(scope="session")
def bench_results() -> dict:
    """Figures collected by the end-to-end benchmarks, printed by the summary tests."""
    return {}
