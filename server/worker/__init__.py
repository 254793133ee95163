"""Renders in worker processes, supervised from a node's event loop (a package, one module per role).

* :mod:`server.worker.supervisor` — :class:`WorkerPool` (in the server process): slots, worker
  process lifecycle, leases, timeouts, the resident-memory ceiling, progress → store.
* :mod:`server.worker.child` — :func:`worker_main`, the worker process's main loop.
* :mod:`server.worker.job` — :func:`render_job`: what one job does (fetch, check, render, poster).
* :mod:`server.worker.coordinator` — chunked renders on the supervisor's side (the coordinator
  on the parent's slot, chunk upload / fetch through the storage's blobs).
* :mod:`server.worker.chunk_steps` — chunked renders in the worker process (split, chunk, join).
* :mod:`server.worker.protocol` — the parent ↔ child messages: msgspec Structs in tagged unions,
  msgpack over the pipe.
* :mod:`server.worker.registry` — the node's entry in the store's worker registry (heartbeat).
* :mod:`server.worker.node` — ``python -m server worker``: a worker-only node.

Importing the package starts nothing.
"""

from __future__ import annotations

from .child import describe as _describe  # noqa: F401 - the old private name (tests)
from .child import worker_main
from .job import render_job
from .supervisor import WorkerPool, read_rss_bytes

__all__ = ["WorkerPool", "worker_main", "render_job", "read_rss_bytes"]
