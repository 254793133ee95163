"""``python -m server [--host …] [--port …] [--data-dir …] …`` — run the service on uvloop.

Flags and ``DRAFT_SERVER_*`` environment variables: ``python -m server --help`` and
docs/service.md. A non-loopback ``--host`` without API keys refuses to start (exit status 2) unless ``--no-auth``
is given (``server.auth.startup_check``); so does an ``--storage s3://…`` bucket that is missing or
refuses the credentials (``server.storage.storage_refusal``). SIGINT/SIGTERM stop it gracefully (running renders are handed back to the
queue and run again at the next start).
"""

from __future__ import annotations

import logging
import sys


def main(argv: list[str] | None = None) -> None:
    from aiohttp import web

    from .app import create_app
    from .auth import startup_check
    from .settings import Settings
    from .storage import storage_refusal

    settings = Settings.from_sources(argv)
    verdict = startup_check(settings)
    if verdict.refusal is not None:
        print(f"draft-renderer: {verdict.refusal}", file=sys.stderr, flush=True)
        raise SystemExit(2)
    refusal = storage_refusal(settings)
    if refusal is not None:
        print(f"draft-renderer: {refusal}", file=sys.stderr, flush=True)
        raise SystemExit(2)
    if verdict.warning is not None:
        print(f"draft-renderer: {verdict.warning}", file=sys.stderr, flush=True)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency
        uvloop = None  # type: ignore[assignment]
    import asyncio

    loop = uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()
    print(
        f"draft-renderer service on http://{settings.host}:{settings.port} "
        f"(data {settings.data_path}, {settings.concurrency} worker(s))",
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
