"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

#: picture scale of the session media (durations are unchanged; see fixtures/media.py)
MEDIA_SCALE = 0.25


@pytest.fixture(scope="session")
def media_dir(request, tmp_path_factory) -> Path:
    """The conformance media (fixtures.media_spec.MEDIA) at MEDIA_SCALE, generated once.

    Cached across runs in the pytest cache (``.pytest_cache/d/media-<scale>``) when the
    cache plug-in is on, else in a session temp dir.  Draft material sizes then differ from
    the files (the renderer trusts decoded sizes).
    """
    from fixtures.media import generate

    cache = getattr(request.config, "cache", None)
    name = f"media-{MEDIA_SCALE:g}"
    out = cache.mkdir(name) if cache is not None else tmp_path_factory.mktemp(name)
    generate(out, scale=MEDIA_SCALE)
    return Path(out)


from tests.valkey_server import redis_store_url, valkey_url  # noqa: E402,F401 - shared fixtures
