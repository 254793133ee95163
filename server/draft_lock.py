"""The per-draft lock of the download cache (I/O): an exclusive ``flock`` on
``cache/.<draft_id>.lock``, so two jobs never write one draft folder at once. Workers wait for
it; a probe takes it only if it is free (and otherwise downloads into a private folder)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from compositor.paths import safe_join


class DraftLock:
    """``with DraftLock(cache, draft_id) as lock:`` — ``lock.held`` says whether it was taken
    (always, with ``wait=True``). Closing the file releases it, on every path."""

    def __init__(self, cache_dir: Path, draft_id: str, *, wait: bool = True):
        self.path = safe_join(cache_dir, f".{draft_id}.lock")
        self.wait = wait
        self.fd: int | None = None
        self.held = False

    def __enter__(self) -> DraftLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX if self.wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.held = True
        except BlockingIOError:
            self.held = False
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the lock
            self.fd = None
