"""Budgets of HTTP requests (pure checks over aiohttp request objects; reads the body).

* :func:`check_header_values`: every header value must be UTF-8 (400 ``VALIDATION_ERROR``
  naming the header; the value is never echoed); :func:`client_request_id` is the client's
  ``X-Request-ID`` only when it is safe to echo.
* :func:`read_body`: a JSON body up to a byte limit — refused from ``Content-Length`` before
  anything is read, and again on the bytes actually read (413 ``PAYLOAD_TOO_LARGE`` naming the
  limit and the setting).
* :func:`check_depth`: JSON nesting depth of a body before it is decoded (400
  ``VALIDATION_ERROR`` with the JSON path of the too-deep value).
* :func:`server_limits`: the compositor's :class:`~compositor.budgets.Limits` from the
  settings (workers render with it); :func:`check_output_budgets` applies its size and fps
  budgets to requested output options at submission (400 ``LIMIT_EXCEEDED``).
"""

from __future__ import annotations

from aiohttp import web

from compositor.budgets import Limits, check_fps, check_side
from compositor.errors import LimitExceeded
from compositor.jsonguard import json_depth_error

from .errors import ApiError, from_compositor
from .settings import Settings

__all__ = [
    "check_header_values",
    "client_request_id",
    "read_body",
    "check_depth",
    "server_limits",
    "check_output_budgets",
]


def client_request_id(request: web.Request) -> str | None:
    """The client's ``X-Request-ID`` if it is safe to echo (printable ASCII, at most 200 chars)."""
    value = request.headers.get("X-Request-ID")
    if value and len(value) <= 200 and value.isascii() and value.isprintable():
        return value
    return None


def check_header_values(request: web.Request) -> None:
    for name, value in request.raw_headers:
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            header = name.decode("latin-1")[:100]
            raise ApiError(
                "VALIDATION_ERROR", f"header {header}: the value is not valid UTF-8", path=f"header:{header}"
            ) from None


async def read_body(request: web.Request, limit: int, setting: str) -> bytes:
    """The request body, at most ``limit`` bytes (``setting`` names the flag that raises it)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(declared, limit, setting)
    raw = await request.read()  # chunked bodies: bounded by the app's client_max_size
    if len(raw) > limit:
        raise _too_large(len(raw), limit, setting)
    return raw


def _too_large(size: int, limit: int, setting: str) -> ApiError:
    return ApiError(
        "PAYLOAD_TOO_LARGE",
        f"the request body is {size} bytes, over the limit of {limit} (setting {setting})",
        context={"limit": limit, "setting": setting},
    )


def check_depth(raw: bytes, limit: int, *, prefix: str = "$") -> None:
    hit = json_depth_error(raw, limit)
    if hit is not None:
        path = prefix + hit[1][1:]
        raise ApiError(
            "VALIDATION_ERROR",
            f"{path}: JSON nested deeper than {limit} levels (setting --max-json-depth / DRAFT_SERVER_MAX_JSON_DEPTH)",
            path=path,
        )


def server_limits(settings: Settings) -> Limits:
    names = Limits.__dataclass_fields__
    return Limits(**{name: getattr(settings, name) for name in names if name != "naming"}, naming="server")


def check_output_budgets(out, settings: Settings, path: str = "$.output") -> None:
    """Requested output options (``schemas.OutputOptions``) within the size and fps budgets."""
    limits = server_limits(settings)
    try:
        for side in ("width", "height"):
            value = getattr(out, side)
            if value is not None:
                check_side(value, limits, what=f"output {side}", json_path=f"{path}.{side}")
        if out.fps is not None:
            check_fps(out.fps, limits, json_path=f"{path}.fps")
    except LimitExceeded as exc:
        raise from_compositor(exc) from None
