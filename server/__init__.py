"""draft-renderer's HTTP service: capcut-mate's ``gen_video`` contract, a native render API and a
durable job queue.

``python -m server`` runs it; ``server.app.create_app(settings)`` builds the aiohttp application.
Importing this package (or any module in it) starts nothing: no threads, no processes, no
sockets, no files. See ``docs/service.md``.
"""
