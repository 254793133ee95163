"""The web console (I/O: reads the packaged files in ``server/static/console``).

* ``GET /`` — the page, with a strict Content-Security-Policy (no inline script or style,
  every request to this service only);
* ``GET /static/console/{file}`` — its script and style sheet.

Both are public (like ``/docs``): the page asks for an API key itself and sends it with every
API call (``X-API-Key``; the ``/k/<key>/`` base for Server-Sent Events).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

CONSOLE_DIR = Path(__file__).resolve().parent / "static" / "console"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self' blob:; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

#: paths that must stay reachable without an API key
PUBLIC_PATHS = ("/", "/static/console/")

_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


async def index(request: web.Request) -> web.Response:
    return web.Response(
        body=(CONSOLE_DIR / "index.html").read_bytes(), content_type="text/html", charset="utf-8", headers=_HEADERS
    )


_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}


async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = CONSOLE_DIR / name
    if "/" in name or name.startswith(".") or path.suffix not in _TYPES or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={**_HEADERS, "Content-Type": _TYPES[path.suffix]})


def setup(app: web.Application) -> None:
    app.router.add_get("/", index, name="console")
    app.router.add_get("/static/console/{name}", static_file, name="console_static")


__all__ = ["setup", "CSP", "PUBLIC_PATHS", "CONSOLE_DIR"]
