"""``create_store(store, data_path)``: the job store a ``--store`` setting names (no I/O until
``open``). ``"sqlite"`` is the embedded store in the data directory; a ``redis://`` or
``rediss://`` URL is the shared Redis/Valkey store (imported only then)."""

from __future__ import annotations

from pathlib import Path

from .base import JobStore


def is_shared(store: str) -> bool:
    """True when other servers may use the same store (it is not the data directory's file)."""
    return store != "sqlite"


def create_store(store: str, data_path: Path) -> JobStore:
    if not is_shared(store):
        from .sqlite import SqliteJobStore

        return SqliteJobStore(data_path / "jobs.sqlite3")
    from .redis import RedisJobStore

    return RedisJobStore(store)


__all__ = ["create_store", "is_shared"]
