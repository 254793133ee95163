"""``python -m server [flags]`` — an API node (with ``--concurrency N`` local worker processes; 0 =
API only: jobs wait in the store for worker nodes); ``python -m server worker [flags]`` — a
worker-only node (no public API; ``/healthz`` and ``/metrics`` on 127.0.0.1 at ``--port``).

Both take the same flags and ``DRAFT_SERVER_*`` environment variables (``python -m server --help``
and docs/service.md): data directory, store, storage, concurrency, render threads, limits,
egress. A non-loopback ``--host`` without API keys refuses to start (exit status 2) unless
``--no-auth`` is given (``server.auth.startup_check``); so does an ``--storage s3://…`` bucket that
is missing or refuses the credentials (``server.storage.storage_refusal``, on both roles).
SIGINT/SIGTERM stop a node gracefully (running renders are handed back to the queue and run again).
"""

from __future__ import annotations

import logging
import sys

#: the sub-command of a worker-only node
WORKER_COMMAND = "worker"


def split_role(argv: list[str]) -> tuple[str, list[str]]:
    """(``"api"`` | ``"worker"``, the flags): ``worker`` must be the first argument."""
    if argv and argv[0] == WORKER_COMMAND:
        return "worker", argv[1:]
    return "api", argv


def main(argv: list[str] | None = None) -> None:
    from .settings import Settings

    role, flags = split_role(list(sys.argv[1:] if argv is None else argv))
    settings = Settings.from_sources(flags)
    _configure_logging(settings)
    if role == "worker":
        if settings.concurrency < 1:
            print("draft-renderer: a worker node needs --concurrency 1 or more", file=sys.stderr, flush=True)
            raise SystemExit(2)
        from .worker.node import run_worker_node

        _refuse_missing_storage(settings)

        run_worker_node(settings)
        return
    _run_api_node(settings)


def _configure_logging(settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def _refuse_missing_storage(settings) -> None:
    """Exit with status 2 and one line when the object store cannot be used (both roles)."""
    from .storage import storage_refusal

    refusal = storage_refusal(settings)
    if refusal is not None:
        print(f"draft-renderer: {refusal}", file=sys.stderr, flush=True)
        raise SystemExit(2)


def _run_api_node(settings) -> None:
    from aiohttp import web

    from .app import create_app
    from .auth import startup_check

    verdict = startup_check(settings)
    if verdict.refusal is not None:
        print(f"draft-renderer: {verdict.refusal}", file=sys.stderr, flush=True)
        raise SystemExit(2)
    _refuse_missing_storage(settings)
    if verdict.warning is not None:
        print(f"draft-renderer: {verdict.warning}", file=sys.stderr, flush=True)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency
        uvloop = None  # type: ignore[assignment]
    import asyncio

    loop = uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()
    workers = f"{settings.concurrency} worker(s)" if settings.concurrency else "API only: no workers"
    print(
        f"draft-renderer service on http://{settings.host}:{settings.port} (data {settings.data_path}, {workers})",
        file=sys.stderr,
        flush=True,
    )
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=None,
        print=None,
        handle_signals=True,
        shutdown_timeout=5.0,
        loop=loop,
    )


if __name__ == "__main__":
    main()
