"""A node's entry in the store's worker registry, kept alive by a heartbeat (I/O: the job store).

Every node with worker slots registers itself (``JobStore.register_worker``) when its pool
starts, again every :attr:`NodeRegistration.interval_s` and whenever a slot starts or ends a
job, with a time-to-live of a few intervals: a node that dies without a word disappears from
``GET /v1/workers`` within ``ttl_s``; a node that stops registers with ``ttl_s = 0`` (gone at
once). The entry: ``{"id", "host", "pid", "slots", "jobs", "role", "started_at", "seen_at"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from typing import Any, Callable

from ..jobs.base import JobStore
from .supervisor import WorkerPool

log = logging.getLogger(__name__)

ROLE_API_WORKER = "api+worker"
ROLE_WORKER = "worker"


def heartbeat_interval_s(lease_s: float) -> float:
    """How often a node re-registers: a third of a lease, between 0.2 and 5 s."""
    return max(0.2, min(lease_s / 3, 5.0))


class NodeRegistration:
    """Registers ``pool``'s node under ``node_id`` until :meth:`stop`."""

    def __init__(
        self,
        store: JobStore,
        pool: WorkerPool,
        *,
        node_id: str,
        role: str,
        lease_s: float,
        host: str | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.pool = pool
        self.node_id = node_id
        self.role = role
        self.host = host or socket.gethostname()
        self.interval_s = heartbeat_interval_s(lease_s)
        #: an entry outlives three missed heartbeats, and at least one lease
        self.ttl_s = max(3 * self.interval_s, lease_s)
        self.started_at = clock()
        self._poke: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    def node(self) -> dict[str, Any]:
        return {
            "id": self.node_id,
            "host": self.host,
            "pid": os.getpid(),
            "slots": len(self.pool.slots),
            "jobs": self.pool.running_job_ids(),
            "role": self.role,
            "started_at": self.started_at,
        }

    def poke(self) -> None:
        """Register again soon (a slot started or ended a job)."""
        if self._poke is not None:
            self._poke.set()

    async def start(self) -> None:
        self._poke = asyncio.Event()
        await self.store.register_worker(self.node(), self.ttl_s)
        self.pool.add_jobs_listener(self.poke)
        self._task = asyncio.get_running_loop().create_task(self._beat(), name="worker-registry")

    async def _beat(self) -> None:
        assert self._poke is not None
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._poke.wait(), self.interval_s)
            self._poke.clear()
            try:
                await self.store.register_worker(self.node(), self.ttl_s)
            except Exception:
                log.exception("worker registry heartbeat failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.store.register_worker({**self.node(), "jobs": []}, 0)  # leave the registry now
        except Exception:
            log.exception("could not leave the worker registry")


__all__ = ["NodeRegistration", "heartbeat_interval_s", "ROLE_API_WORKER", "ROLE_WORKER"]
