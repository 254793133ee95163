"""Cross-site request rules (pure request/response handling, no I/O).

* Request bodies (POST/PUT/PATCH) must be ``application/json``: anything else is
  ``415 UNSUPPORTED_MEDIA_TYPE``, so a browser cannot send one from another site as a "simple"
  form post without a CORS preflight.
* No CORS headers at all unless origins are configured (``--cors-origins``). Then a request
  whose ``Origin`` is one of them gets ``Access-Control-Allow-Origin`` (that origin, with
  ``Vary: Origin``), and its preflight (``OPTIONS`` + ``Access-Control-Request-Method``) is
  answered ``204`` before authentication (preflights carry no credentials). Other origins get
  nothing.
"""

from __future__ import annotations

from aiohttp import web

from .errors import ApiError

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
ALLOW_METHODS = "GET, HEAD, POST, DELETE, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, X-API-Key, Idempotency-Key, Accept-Language, X-Request-ID, Range"
EXPOSE_HEADERS = "Location, X-Request-ID, Content-Range, Retry-After"
PREFLIGHT_MAX_AGE_S = 600


@web.middleware
async def require_json_body(request: web.Request, handler) -> web.StreamResponse:
    if request.method in BODY_METHODS and request.content_type != "application/json":
        given = request.headers.get("Content-Type", "")[:80] or "none"
        raise ApiError(
            "UNSUPPORTED_MEDIA_TYPE",
            f"Content-Type {given!r}: send application/json",
            headers={"Accept-Post": "application/json"},
        )
    return await handler(request)


class Cors:
    """CORS for a fixed set of origins: ``preflight`` (a middleware) and ``add_headers``
    (``on_response_prepare``, so streamed and file responses get them too)."""

    def __init__(self, origins: tuple[str, ...]):
        self.origins = frozenset(o.rstrip("/") for o in origins)

    def _allowed(self, request: web.Request) -> str | None:
        origin = request.headers.get("Origin")
        return origin if origin is not None and origin in self.origins else None

    @web.middleware
    async def preflight(self, request: web.Request, handler) -> web.StreamResponse:
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if self._allowed(request) is not None:
                return web.Response(
                    status=204,
                    headers={
                        "Access-Control-Allow-Methods": ALLOW_METHODS,
                        "Access-Control-Allow-Headers": ALLOW_HEADERS,
                        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
                    },
                )
        return await handler(request)

    async def add_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        origin = self._allowed(request)
        if origin is None:
            return
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        vary = response.headers.get("Vary")
        response.headers["Vary"] = f"{vary}, Origin" if vary else "Origin"


__all__ = ["require_json_body", "Cors"]
