"""pytest fixtures of the service tests (imported by the tests/test_server*.py modules)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
import pytest_asyncio

from server.app import create_app
from server.settings import Settings
from tests.server_helpers import DraftHost, free_port, make_clip

TEST_DEFAULTS = dict(
    host="127.0.0.1",
    lease_s=2.0,
    cancel_grace_s=1.0,
    webhook_backoff_s=0.05,
    webhook_timeout_s=5.0,
    concurrency=0,
    submit_check_timeout_s=5.0,
    log_level="WARNING",
    # only the draft host and webhook receivers of these tests may be reached
    url_allowlist=("127.0.0.1",),
    url_allowlist_only=True,
)


@pytest.fixture(scope="module")
def draft_host():
    host = DraftHost().start()
    yield host
    host.stop()


@pytest.fixture(scope="session")
def clip_path(tmp_path_factory) -> Path:
    """A 1 s 160x90 H.264 clip."""
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=1.0)


_ids = itertools.count(1)


def new_draft_id() -> str:
    """A capcut-mate-shaped draft id (14 digits + 8 hex), unique per call."""
    return f"20261125{next(_ids):06d}{next(_ids):08x}"


@pytest_asyncio.fixture
async def make_client(request, aiohttp_client, tmp_path):
    """``await make_client(**settings)`` → a TestClient of a started app (its own data dir).

    ``DRAFT_TEST_STORE=redis`` in the environment runs the apps on the session's Valkey server
    (one key prefix per test) instead of SQLite: the same tests against the shared store.
    """
    counter = itertools.count()
    store = (
        {"store": request.getfixturevalue("redis_store_url")} if os.environ.get("DRAFT_TEST_STORE") == "redis" else {}
    )

    async def make(**overrides):
        port = free_port()
        values = {
            **TEST_DEFAULTS,
            **store,
            "port": port,
            "data_dir": str(tmp_path / f"data{next(counter)}"),
            **overrides,
        }
        settings = Settings(**values)
        app = create_app(settings)
        client = await aiohttp_client(app, server_kwargs={"port": port, "host": "127.0.0.1"})
        return client

    return make
