"""``GET /openapi.json`` (OpenAPI 3.1 from the msgspec types), ``GET /docs`` (Swagger UI from vendored
files in ``server/static/swagger-ui``, works offline), ``GET /healthz`` and ``GET /metrics``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web

from . import schemas
from .probe import ProbeRequest, ProbeResult
from .routes_tools import Stats
from .errors import ERRORS, ErrorBody
from .jobs.model import STATES
from .state import METRICS, POOL, SETTINGS, STORE

STATIC = Path(__file__).resolve().parent / "static"
VERSION = "0.1.0"
REF = "#/components/schemas/{name}"


def _ref(t) -> dict:
    return {"$ref": REF.format(name=t.__name__)}


def _json_content(t) -> dict:
    return {"application/json": {"schema": _ref(t)}}


def _errors(*statuses: int) -> dict:
    out = {}
    for s in statuses:
        codes = sorted(c for c, spec in ERRORS.items() if spec.http == s)
        desc = f"error ({', '.join(codes)})" if codes else "error"
        if s == 405:
            desc = "method not allowed"
        out[str(s)] = {"description": desc, "content": _json_content(ErrorBody)}
    return out


def _op(
    op_id: str, summary: str, tag: str, responses: dict, *, body=None, params: list | None = None, description: str = ""
) -> dict:
    op: dict[str, Any] = {"operationId": op_id, "summary": summary, "tags": [tag], "responses": responses}
    if description:
        op["description"] = description
    if body is not None:
        op["requestBody"] = {"required": True, "content": _json_content(body)}
        op["responses"].update(_errors(415))
    if params:
        op["parameters"] = params
    return op


#: how a key travels (also: a ``/k/<key>/`` base-URL prefix and capcut-mate's ``apiKey`` field)
SECURITY_SCHEMES = {
    "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "Bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "Authorization: Bearer <key>. A client that can only change its base URL "
        "can use <base>/k/<key>/… instead; capcut-mate clients may send apiKey.",
    },
}

#: a signed link's query (``video_url`` / ``poster_url``): opens the file without a key
LINK_PARAMS = [
    {
        "name": "expires",
        "in": "query",
        "required": False,
        "schema": {"type": "integer"},
        "description": "signed link: expiry (UNIX seconds)",
    },
    {
        "name": "sig",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "signed link: hex HMAC-SHA256 of path + newline + expires",
    },
]

ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}


def build_spec(base_url: str | None = None) -> dict:
    _, components = msgspec.json.schema_components(
        (*schemas.SCHEMA_TYPES, ProbeRequest, ProbeResult, Stats), ref_template=REF
    )
    cm = "/openapi/capcut-mate/v1"
    paths = {
        f"{cm}/gen_video": {
            "post": _op(
                "gen_video",
                "Submit a draft for rendering (capcut-mate contract)",
                "capcut-mate",
                {
                    "200": {
                        "description": "submitted, already running, or finished (then with video_url)",
                        "content": _json_content(schemas.GenVideoResponse),
                    },
                    **_errors(400, 401, 404, 405, 413, 503),
                },
                body=schemas.GenVideoRequest,
                description="Idempotent by draft_url: re-POST until the answer carries video_url.",
            )
        },
        f"{cm}/gen_video_status": {
            "post": _op(
                "gen_video_status",
                "Status of the task of a draft_url",
                "capcut-mate",
                {
                    "200": {"description": "the task", "content": _json_content(schemas.GenVideoStatusResponse)},
                    **_errors(400, 404, 405, 413),
                },
                body=schemas.GenVideoStatusRequest,
            )
        },
        f"{cm}/gen_video_active_count": {
            "get": _op(
                "gen_video_active_count",
                "Tasks pending or processing",
                "capcut-mate",
                {
                    "200": {"description": "count", "content": _json_content(schemas.ActiveCountResponse)},
                    **_errors(405),
                },
            )
        },
        "/v1/renders": {
            "post": _op(
                "create_render",
                "Create a render job",
                "renders",
                {
                    "202": {"description": "created", "content": _json_content(schemas.RenderJob)},
                    "200": {
                        "description": "the job created earlier with this Idempotency-Key",
                        "content": _json_content(schemas.RenderJob),
                    },
                    **_errors(400, 401, 404, 405, 413, 503),
                },
                body=schemas.RenderRequest,
                params=[
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                    }
                ],
            ),
            "get": _op(
                "list_renders",
                "List render jobs, newest first",
                "renders",
                {"200": {"description": "a page", "content": _json_content(schemas.RenderJobList)}, **_errors(400)},
                params=[
                    {
                        "name": "state",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": list(STATES)},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                    {"name": "before", "in": "query", "required": False, "schema": {"type": "integer"}},
                ],
            ),
        },
        "/v1/renders/{id}": {
            "get": _op(
                "get_render",
                "A render job",
                "renders",
                {"200": {"description": "the job", "content": _json_content(schemas.RenderJob)}, **_errors(404)},
                params=[ID_PARAM],
            ),
            "delete": _op(
                "cancel_render",
                "Cancel a render job",
                "renders",
                {
                    "200": {"description": "cancelled", "content": _json_content(schemas.RenderJob)},
                    "202": {
                        "description": "cancel requested, still stopping",
                        "content": _json_content(schemas.RenderJob),
                    },
                    **_errors(401, 404, 409),
                },
                params=[ID_PARAM],
            ),
        },
        "/v1/renders/{id}/events": {
            "get": _op(
                "render_events",
                "Progress as Server-Sent Events",
                "renders",
                {
                    "200": {
                        "description": "event stream: `progress` events, then `completed`, `failed` or `cancelled`",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_errors(404),
                },
                params=[ID_PARAM],
            )
        },
        "/v1/renders/{id}/video.mp4": {
            "get": _op(
                "render_video",
                "The rendered MP4 (Range requests supported)",
                "renders",
                {
                    "200": {
                        "description": "the video",
                        "content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    "206": {
                        "description": "a byte range",
                        "content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    "302": {"description": "--storage s3://…: Location is the object's presigned (or public) URL"},
                    "416": {"description": "range not satisfiable"},
                    **_errors(403, 404, 409),
                },
                params=[ID_PARAM, *LINK_PARAMS],
            )
        },
        "/v1/renders/{id}/poster.jpg": {
            "get": _op(
                "render_poster",
                "A poster frame of the finished video",
                "renders",
                {
                    "200": {
                        "description": "JPEG",
                        "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    "302": {"description": "--storage s3://…: Location is the object's presigned (or public) URL"},
                    **_errors(403, 404, 409),
                },
                params=[ID_PARAM, *LINK_PARAMS],
            )
        },
        "/v1/probe": {
            "post": _op(
                "probe",
                "Check a draft without rendering it",
                "renders",
                {
                    "200": {
                        "description": "what a render would see: canvas, output, tracks, warnings",
                        "content": _json_content(ProbeResult),
                    },
                    **_errors(400, 401, 404, 405, 413),
                },
                body=ProbeRequest,
                description="Fetches the draft and probes its media like a worker would (nothing is queued).",
            )
        },
        "/v1/stats": {
            "get": _op(
                "stats",
                "Queue summary: jobs per state, renders running, the last hour",
                "service",
                {"200": {"description": "summary", "content": _json_content(Stats)}, **_errors(401)},
            )
        },
        "/v1/workers": {
            "get": _op(
                "list_workers",
                "The worker nodes: id, host, slots and the jobs each runs now",
                "service",
                {
                    "200": {"description": "the live nodes", "content": _json_content(schemas.WorkerList)},
                    **_errors(403),
                },
                description="Admin keys only when keys are configured (403 FORBIDDEN for other keys); "
                "open when no keys are configured. A node that stops heart-beating leaves the list.",
            )
        },
        "/healthz": {
            "get": _op(
                "healthz",
                "Liveness and queue summary",
                "service",
                {"200": {"description": "ok", "content": _json_content(schemas.Health)}},
            )
        },
        "/metrics": {
            "get": _op(
                "metrics",
                "Prometheus metrics",
                "service",
                {
                    "200": {
                        "description": "text exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            )
        },
    }
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "draft-renderer",
            "version": VERSION,
            "description": "Render JianYing/CapCut drafts built by capcut-mate: capcut-mate's gen_video "
            "contract and a native render API. Every error body carries capcut-mate's "
            "`code`/`message` and an `error` object with a stable code.",
        },
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
        # keys are needed only when the server has keys configured ({} = no key)
        "security": [{"ApiKeyHeader": []}, {"Bearer": []}, {}],
    }
    for public in ("/healthz", "/openapi.json", "/docs"):
        for op in paths.get(public, {}).values():
            op["security"] = []
    for item in paths.values():
        for op in item.values():
            if op.get("security") != []:
                op["responses"].update(_errors(401))
    if base_url:
        spec["servers"] = [{"url": base_url}]
    return spec


async def openapi_json(request: web.Request) -> web.Response:
    cache = request.app[_SPEC_CACHE]
    if "json" not in cache:
        cache["json"] = msgspec.json.encode(build_spec(request.app[SETTINGS].base_url))
    return web.Response(body=cache["json"], content_type="application/json")


async def docs(request: web.Request) -> web.Response:
    return web.Response(body=(STATIC / "docs.html").read_bytes(), content_type="text/html")


async def healthz(request: web.Request) -> web.Response:
    app = request.app
    counts = await app[STORE].counts()
    pool = app.get(POOL)
    body = schemas.Health(
        status="ok",
        version=VERSION,
        concurrency=app[SETTINGS].concurrency,
        workers_alive=pool.workers_alive() if pool is not None else 0,
        queue_depth=counts["queued"],
        jobs=counts,
    )
    return web.Response(body=schemas.ENCODER.encode(body), content_type="application/json")


async def metrics(request: web.Request) -> web.Response:
    app = request.app
    m = app[METRICS]
    m.set_counts(await app[STORE].counts())
    pool = app.get(POOL)
    if pool is not None:
        m.workers_alive.set(pool.workers_alive())
    resp = web.Response(body=m.exposition())
    resp.headers["Content-Type"] = m.content_type
    return resp


_SPEC_CACHE = web.AppKey("openapi_spec_cache", dict)


def setup(app: web.Application) -> None:
    app[_SPEC_CACHE] = {}
    r = app.router
    r.add_get("/openapi.json", openapi_json, name="openapi")
    r.add_get("/docs", docs, name="docs")
    r.add_static("/docs/static/", STATIC / "swagger-ui", name="docs_static", append_version=False)
    r.add_get("/healthz", healthz, name="healthz")
    r.add_get("/metrics", metrics, name="metrics")


__all__ = ["setup", "build_spec"]
