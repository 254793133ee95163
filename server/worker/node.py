"""``python -m server worker``: a worker-only node (I/O: the job store, worker processes, a port).

No public API: the node claims jobs from the shared store (``--store``; by default the SQLite file
in ``--data-dir``, which several nodes on one machine may share), renders them in its own worker
processes, registers itself in the worker registry (``role: "worker"``) and answers only
``GET /healthz`` and ``GET /metrics``, on 127.0.0.1 at ``--port`` whatever ``--host`` says.
It runs the lease reaper too (re-queueing the jobs of a node that died is safe from any node);
the retention purge and webhooks stay with the API nodes.

Start-up order: job store → worker pool → registry heartbeat → lease reaper; stop in reverse.
Unlike an API node it takes no data-directory lock and never re-queues running jobs at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import AsyncIterator

from aiohttp import web

from ..jobs.base import JobStore
from ..jobs.factory import create_store
from ..metrics import Metrics
from ..settings import Settings
from ..state import INSTANCE_ID, METRICS, POOL, SETTINGS, STORAGE, STORE
from ..storage import make_storage
from .registry import ROLE_WORKER, NodeRegistration, heartbeat_interval_s
from .supervisor import WorkerPool

log = logging.getLogger(__name__)

#: the worker node's port is loopback-only
WORKER_NODE_HOST = "127.0.0.1"

_REGISTRATION = web.AppKey("worker_registration", NodeRegistration)


async def lease_reaper(store: JobStore, metrics: Metrics, lease_s: float) -> None:
    """Forever: re-queue jobs whose worker stopped heart-beating (lease expired); refresh the
    job-count gauges."""
    interval = max(0.2, min(lease_s / 3, 5.0))
    while True:
        await asyncio.sleep(interval)
        try:
            for job in await store.requeue_expired():
                log.warning("job %s: lease expired; now %s", job.id, job.state)
            metrics.set_counts(await store.counts())
        except Exception:
            log.exception("lease reaper failed")


def create_worker_app(settings: Settings) -> web.Application:
    """The worker node's application: ``/healthz`` and ``/metrics`` only."""
    from .. import openapi

    app = web.Application()
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    app[INSTANCE_ID] = uuid.uuid4().hex[:12]
    app[STORAGE] = make_storage(settings)
    app[STORE] = create_store(settings.store, settings.data_path)  # --store
    app.router.add_get("/healthz", openapi.healthz, name="healthz")
    app.router.add_get("/metrics", openapi.metrics, name="metrics")
    app.cleanup_ctx.extend([_job_store, _workers, _reaper])
    return app


async def _job_store(app: web.Application) -> AsyncIterator[None]:
    app[STORAGE].ensure_dirs()
    store = app[STORE]
    await store.open()
    store.add_listener(app[METRICS].count_finished)
    try:
        yield
    finally:
        await store.close()


async def _workers(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    pool = WorkerPool(settings, app[STORE], app[STORAGE], metrics=app[METRICS], instance_id=app[INSTANCE_ID])
    app[POOL] = pool
    registration = app[_REGISTRATION] = NodeRegistration(
        app[STORE], pool, node_id=app[INSTANCE_ID], role=ROLE_WORKER, lease_s=settings.lease_s
    )
    await pool.start()
    await registration.start()
    log.info(
        "worker node %s: %d slot(s), data %s, registry heartbeat every %.1fs",
        app[INSTANCE_ID],
        settings.concurrency,
        settings.data_path,
        heartbeat_interval_s(settings.lease_s),
    )
    try:
        yield
    finally:
        await registration.stop()
        await pool.stop()


async def _reaper(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(lease_reaper(app[STORE], app[METRICS], app[SETTINGS].lease_s), name="lease-reaper")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def run_worker_node(settings: Settings) -> None:
    """Serve the worker node until SIGINT/SIGTERM (running renders go back to the queue)."""
    import sys

    import uvloop

    if settings.host != WORKER_NODE_HOST:
        log.info("--host %s is not used: a worker node listens on %s only", settings.host, WORKER_NODE_HOST)
    loop = uvloop.new_event_loop()
    print(
        f"draft-renderer worker node: {settings.concurrency} worker(s), data {settings.data_path}, "
        f"health and metrics on http://{WORKER_NODE_HOST}:{settings.port}",
        file=sys.stderr,
        flush=True,
    )
    web.run_app(
        create_worker_app(settings),
        host=WORKER_NODE_HOST,
        port=settings.port,
        access_log=None,
        print=None,
        handle_signals=True,
        shutdown_timeout=5.0,
        loop=loop,
    )


__all__ = ["create_worker_app", "run_worker_node", "lease_reaper", "WORKER_NODE_HOST"]
