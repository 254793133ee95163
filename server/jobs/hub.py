"""In-process fan-out of job changes (used by every backend's ``watch`` and listeners).

A backend calls :meth:`WatchHub.publish` on the event loop with each changed job (the SQLite
store after its commit). Per-job watchers coalesce:
a slow reader skips intermediate progress but always sees the newest version, and a terminal
version is the last one it sees. Listeners are plain callbacks run for every change.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import AsyncIterator, Awaitable, Callable

from .model import Job

log = logging.getLogger(__name__)

Listener = Callable[[Job], None]


class _Watcher:
    __slots__ = ("latest", "event")

    def __init__(self) -> None:
        self.latest: Job | None = None
        self.event = asyncio.Event()

    def push(self, job: Job) -> None:
        if self.latest is None or job.version > self.latest.version:
            self.latest = job
            self.event.set()


class WatchHub:
    def __init__(self) -> None:
        self._watchers: dict[str, set[_Watcher]] = defaultdict(set)
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def watched_ids(self) -> list[str]:
        """Ids of the jobs someone watches now (a shared store re-reads them after a reconnect)."""
        return list(self._watchers)

    def publish(self, job: Job) -> None:
        for w in self._watchers.get(job.id, ()):
            w.push(job)
        for listener in list(self._listeners):
            try:
                listener(job)
            except Exception:  # a listener must not break the writer
                log.exception("job listener %r failed", listener)

    async def watch(self, job_id: str, current: Callable[[], Awaitable[Job | None]]) -> AsyncIterator[Job]:
        """Yield the job's current version, then each newer one; stop after a terminal one."""
        w = _Watcher()
        self._watchers[job_id].add(w)  # subscribe first: no change is missed
        try:
            job = await current()
            if job is None:
                return
            last = job.version
            yield job
            if job.terminal:
                return
            while True:
                await w.event.wait()
                w.event.clear()
                job = w.latest
                if job is None or job.version <= last:
                    continue
                last = job.version
                yield job
                if job.terminal:
                    return
        finally:
            subs = self._watchers.get(job_id)
            if subs is not None:
                subs.discard(w)
                if not subs:
                    del self._watchers[job_id]


__all__ = ["WatchHub", "Listener"]
