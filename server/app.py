"""``create_app(settings) -> web.Application``: wiring only.

State lives on ``web.AppKey``s (``server.state``); everything that touches the disk, the
network or processes starts in ``cleanup_ctx`` when the application starts and stops in
reverse order when it stops. Nothing happens at import.

Middlewares, outermost first: ``/k/<key>/`` prefix → error bodies and metrics → CORS
preflight (only with ``--cors-origins``) → JSON bodies only → authentication (``server.auth``).

Start-up order: data-directory lock → the object store's client (``--storage s3://…``) → keys
and server secret → job store (+ re-queue of jobs a dead server left running) → HTTP client
(draft checks, webhooks) → worker pool (+ its heartbeat in the worker registry, when it has
slots) → webhook sender → background loops (lease reaper, retention purge).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import logging
import os
import time
import uuid
from typing import AsyncIterator

from aiohttp import web

from compositor.egress_client import EgressClient

from compositor.errors import CompositorError

from . import auth, openapi, routes_capcut, routes_console, routes_native, routes_tools, routes_workers
from .crosssite import Cors, require_json_body
from .drafts import BackgroundChecks, DraftChecker
from .errors import ApiError, error_response, from_compositor, http_exception_as_error
from .jobs.factory import create_store, is_shared
from .metrics import Metrics
from .request_limits import check_header_values, client_request_id
from .settings import Settings
from .egress import egress_policy
from .state import BG_CHECKS, CHECKER, HTTP, INSTANCE_ID, METRICS, POOL, SETTINGS, STORAGE, STORE, WEBHOOKS
from .storage import make_storage
from .webhooks import WebhookSender
from .worker import WorkerPool
from .worker.node import lease_reaper
from .worker.registry import ROLE_API_WORKER, ROLE_WORKER, NodeRegistration

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> web.Application:
    if not settings.public_base_url and settings.host in ("0.0.0.0", "::", ""):
        log.warning(
            "listening on %s without --public-base-url: video_url links will name %s, which clients cannot reach",
            settings.host,
            settings.base_url,
        )
    egress_policy(settings)  # a bad --url-allowlist entry fails here (ValueError)
    if settings.allow_private_networks:
        log.warning(
            "--allow-private-networks: drafts, materials and webhooks may reach loopback and private "
            "addresses (only for services reachable from trusted networks)"
        )
    cors = Cors(settings.cors_origins) if settings.cors_origins else None
    middlewares = [
        auth.strip_key_prefix,
        _middleware,
        *([cors.preflight] if cors else []),
        require_json_body,
        auth.authenticate,
    ]
    app = web.Application(
        middlewares=middlewares, client_max_size=max(settings.max_body_bytes, settings.max_draft_bytes)
    )
    if cors is not None:
        app.on_response_prepare.append(cors.add_headers)
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    app[INSTANCE_ID] = uuid.uuid4().hex[:12]
    app[_REQUEST_COUNTER] = itertools.count(1)
    app[STORAGE] = make_storage(settings)  # --storage: local files or an S3 bucket
    app[STORE] = create_store(settings.store, settings.data_path)  # --store: SQLite or Redis/Valkey
    routes_capcut.setup(app)
    routes_native.setup(app)
    routes_tools.setup(app)
    routes_workers.setup(app)
    openapi.setup(app)
    routes_console.setup(app)
    app.cleanup_ctx.extend(
        [_data_dir_lock, _storage_client, _auth_gate, _job_store, _http_client, _workers, _webhooks, _background]
    )
    return app


# -- middleware ----------------------------------------------------------------------------------


@web.middleware
async def _middleware(request: web.Request, handler) -> web.StreamResponse:
    app = request.app
    started = time.perf_counter()
    always_200 = app[SETTINGS].capcut_always_200
    try:
        check_header_values(request)
        resp = await handler(request)
    except ApiError as err:
        resp = error_response(request, err, always_200=always_200)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        resp = error_response(request, http_exception_as_error(exc), always_200=always_200)
    except CompositorError as exc:
        resp = error_response(request, from_compositor(exc), always_200=always_200)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("unhandled error in %s %s", request.method, request.path)
        resp = error_response(request, ApiError("INTERNAL_ERROR", type(exc).__name__), always_200=always_200)
    info = request.match_info
    route = info.route.resource.canonical if info.route.resource is not None else "unmatched"
    app[METRICS].observe_request(route, resp.status, time.perf_counter() - started)
    if not resp.prepared:
        resp.headers["X-Request-ID"] = client_request_id(request) or _request_id(app)
    return resp


_REQUEST_COUNTER = web.AppKey("request_counter", itertools.count)


def _request_id(app: web.Application) -> str:
    """32 hex digits: the app's instance id and a counter (no syscall per request)."""
    return f"{app[INSTANCE_ID]}{next(app[_REQUEST_COUNTER]):020x}"


# -- lifecycle (cleanup_ctx) ---------------------------------------------------------------------


async def _data_dir_lock(app: web.Application) -> AsyncIterator[None]:
    """One server per data directory (the SQLite store has one writer; orphaned leases can be
    reclaimed at once because no other live server can hold them)."""
    storage = app[STORAGE]
    storage.ensure_dirs()
    path = storage.root / "server.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RuntimeError(f"another server is using the data directory {storage.root}") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    try:
        yield
    finally:
        os.close(fd)


async def _storage_client(app: web.Application) -> AsyncIterator[None]:
    """-- object storage: make the S3 client now, off the event loop (the first presigned
    video_url would otherwise pay for it on the loop)."""
    storage = app[STORAGE]
    if storage.redirects:
        await asyncio.get_running_loop().run_in_executor(None, lambda: storage.client)  # type: ignore[attr-defined]
    yield


async def _auth_gate(app: web.Application) -> AsyncIterator[None]:
    """Keys (incl. the keys file) and the server secret; file links are signed from here on."""
    settings, storage = app[SETTINGS], app[STORAGE]
    gate = app[auth.GATE] = auth.Gate.from_settings(settings, auth.load_or_create_secret(storage.root))
    storage.link_signer = gate.links.query
    if gate.keyring.configured:
        log.info("API keys required: %d key(s) configured", len(gate.keyring))
    yield


async def _job_store(app: web.Application) -> AsyncIterator[None]:
    store = app[STORE]
    await store.open()
    store.add_listener(app[METRICS].count_finished)
    if is_shared(app[SETTINGS].store) or any(w.get("role") == ROLE_WORKER for w in await store.list_workers()):
        # other live nodes hold leases in a shared store: only leases that ran out are orphans
        orphans = await store.requeue_expired()
    else:
        orphans = await store.requeue_expired(float("inf"))  # we hold the data-dir lock
    if orphans:
        log.info("re-queued %d job(s) a previous server left running", len(orphans))
    try:
        yield
    finally:
        await store.close()


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    session = EgressClient(
        egress_policy(settings),
        limit=256,
        limit_per_host=64,
        ttl_dns_cache=60,
        headers={"User-Agent": "draft-renderer/0.1"},
    )  # the server's egress policy
    app[HTTP] = session
    checker = app[CHECKER] = DraftChecker(session, settings)
    store = app[STORE]

    async def on_fail(job_id: str, err: ApiError) -> None:
        job = await store.fail(
            job_id,
            None,
            err.code,
            err.details or err.code,
            {"json_path": err.path, **(err.context or {})} if err.path else err.context,
        )
        if job is None:
            log.info("job %s: background check failed (%s) but the job is no longer queued", job_id, err.code)

    async def on_pass(job_id: str, outcome) -> None:
        await store.set_check_result(job_id, content_hash=outcome.content_hash)

    bg = app[BG_CHECKS] = BackgroundChecks(checker, on_fail, on_pass)
    try:
        yield
    finally:
        await bg.close()
        await session.close()


async def _workers(app: web.Application) -> AsyncIterator[None]:
    pool = WorkerPool(app[SETTINGS], app[STORE], app[STORAGE], metrics=app[METRICS], instance_id=app[INSTANCE_ID])
    app[POOL] = pool
    await pool.start()
    registration = None
    if pool.slots:  # an API-only node (--concurrency 0) renders nothing and is not a worker
        registration = NodeRegistration(
            app[STORE], pool, node_id=app[INSTANCE_ID], role=ROLE_API_WORKER, lease_s=app[SETTINGS].lease_s
        )
        await registration.start()
    try:
        yield
    finally:
        if registration is not None:
            await registration.stop()
        await pool.stop()


async def _webhooks(app: web.Application) -> AsyncIterator[None]:
    storage = app[STORAGE]
    sender = WebhookSender(
        app[SETTINGS], app[STORE], app[HTTP], lambda job: routes_native.job_json(job, storage), metrics=app[METRICS]
    )
    app[WEBHOOKS] = sender
    await sender.start()
    try:
        yield
    finally:
        await sender.stop()


async def _background(app: web.Application) -> AsyncIterator[None]:
    settings, store, storage, metrics = app[SETTINGS], app[STORE], app[STORAGE], app[METRICS]

    async def purger() -> None:
        """Delete finished jobs and their files after the retention period."""
        interval = max(1.0, min(settings.retention_s / 10, 600.0))
        while True:
            try:
                gone = await store.purge(time.time() - settings.retention_s)
                loop = asyncio.get_running_loop()
                for job in gone:  # an object store is network I/O: off the event loop
                    try:
                        await loop.run_in_executor(None, storage.delete_job_files, job.id)
                    except CompositorError as exc:  # StorageFailed: the next jobs still go
                        log.warning("job %s: could not delete its files: %s", job.id, exc)
                if gone:
                    log.info("purged %d finished job(s) older than %gs", len(gone), settings.retention_s)
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: storage.sweep(settings.retention_s, stale_part_s=settings.job_timeout_s + 60)
                )
            except Exception:
                log.exception("retention purge failed")
            await asyncio.sleep(interval)

    tasks = [
        asyncio.create_task(lease_reaper(store, metrics, settings.lease_s), name="lease-reaper"),
        asyncio.create_task(purger(), name="purger"),
    ]
    try:
        yield
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t


__all__ = ["create_app"]
