"""``GET /v1/workers``: the nodes in the store's worker registry (I/O: the job store).

Each live node (``python -m server`` with worker slots, or ``python -m server worker``) with its
id, host, pid, role, slots and the jobs it runs now (``server.worker.registry``). Admin keys only
once keys are configured (``server.auth.ADMIN_ROUTES``); open when no keys are configured.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .schemas import ENCODER, WorkerList, WorkerNode, iso_utc
from .state import STORE


def node_view(entry: dict[str, Any]) -> WorkerNode:
    return WorkerNode(
        id=str(entry.get("id", "")),
        host=str(entry.get("host", "")),
        pid=int(entry.get("pid") or 0),
        role=str(entry.get("role", "")),
        slots=int(entry.get("slots") or 0),
        jobs=[str(j) for j in entry.get("jobs") or ()],
        started_at=iso_utc(entry.get("started_at")),
        seen_at=iso_utc(entry.get("seen_at")),
    )


async def list_workers(request: web.Request) -> web.Response:
    nodes = await request.app[STORE].list_workers()
    body = WorkerList(workers=[node_view(n) for n in nodes])
    return web.Response(body=ENCODER.encode(body), content_type="application/json")


def setup(app: web.Application) -> None:
    app.router.add_get("/v1/workers", list_workers, name="list_workers", allow_head=False)


__all__ = ["setup", "list_workers", "node_view"]
