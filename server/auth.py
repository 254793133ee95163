"""Authentication and ownership: API keys, who owns a job, signed file links, the bind rule.

I/O: :func:`read_keys_file` and :func:`load_or_create_secret` read (and once create) files;
everything else is pure. Nothing happens at import; ``server.app`` builds a :class:`Gate` when
the application starts and installs :func:`strip_key_prefix` and :func:`authenticate`.

* Keys come from ``--api-keys``, ``--api-keys-file`` and ``--admin-keys``; they are opaque
  strings. Once any key is configured, every route but :data:`PUBLIC_ROUTES` needs one, on
  loopback too: no key → ``401 UNAUTHORIZED``, an unknown key → ``401 INVALID_API_KEY``.
  :data:`ADMIN_ROUTES` (``GET /v1/workers``) take admin keys only (another key: ``403 FORBIDDEN``).
* A key is read from, in this order: ``X-API-Key``, ``Authorization: Bearer <key>``, a base-URL
  path prefix ``/k/<key>/…`` (in front of every route), capcut-mate's body field ``apiKey``
  (routes under ``/openapi/capcut-mate/``). Keys are compared in constant time (digests,
  every configured key compared) and never logged.
* Every job records the submitting key's *id* — an HMAC of the key under the server secret, not
  the key — as its ``key_id``; a key only sees its own jobs (an admin key sees all). With no
  keys configured every caller is the anonymous owner ``""`` (one shared namespace, as before).
* ``video_url`` / ``poster_url`` are signed links: ``?expires=<unix s>&sig=<hex HMAC-SHA256 over
  path + "\\n" + expires>``. A valid, unexpired signature opens that one file without a key;
  a link with a bad or expired signature and no owner's key is ``403 LINK_INVALID``.
* The server secret (32 random bytes, hex, mode 0600) is created in the data directory at the
  first start and reused; deleting it invalidates every link and every job's ownership.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import os
import secrets
import time
from pathlib import Path
from typing import Callable, Mapping, NamedTuple
from urllib.parse import unquote

import msgspec
from aiohttp import web
from yarl import URL

from compositor.jsonguard import json_depth_error

from .errors import CAPCUT_PREFIX, ApiError
from .settings import Settings
from .state import SETTINGS

log = logging.getLogger(__name__)

#: the owner of every job when no keys are configured
ANONYMOUS_KEY_ID = ""
#: routes (by name) anyone may call even when keys are configured
PUBLIC_ROUTES = frozenset({"healthz", "docs", "docs_static", "openapi", "console", "console_static"})
#: routes only admin keys may call once keys are configured (another key: 403 FORBIDDEN)
ADMIN_ROUTES = frozenset({"list_workers"})
#: routes that also accept a signed link instead of a key
FILE_ROUTES = frozenset({"render_video", "render_poster"})
KEY_PREFIX = "/k/"
SECRET_FILE = "server.secret"
LINK_PARAMS = ("expires", "sig")


class Principal(NamedTuple):
    """Who is calling: the id recorded on jobs it submits, and whether it sees every job."""

    key_id: str
    admin: bool = False

    @property
    def scope(self) -> str | None:
        """The ``key_id`` filter of job lookups (``None`` = every job)."""
        return None if self.admin else self.key_id


ANONYMOUS = Principal(ANONYMOUS_KEY_ID)
#: a request for one file carrying a valid signed link: the signature names the file
LINK_HOLDER = Principal(ANONYMOUS_KEY_ID, admin=True)

#: ``request[PRINCIPAL]``: the caller (set by :func:`authenticate`)
PRINCIPAL = web.RequestKey("principal", Principal)
#: ``request[_PATH_KEY]``: the key of a ``/k/<key>/`` prefix (set by :func:`strip_key_prefix`)
_PATH_KEY = web.RequestKey("path_key", str)


def principal_of(request: web.Request) -> Principal:
    return request.get(PRINCIPAL, ANONYMOUS)


# -- keys --------------------------------------------------------------------------------------------


def read_keys_file(path: str | os.PathLike) -> tuple[str, ...]:
    """One key per line; blank lines and lines starting with ``#`` are ignored; surrounding
    whitespace is stripped."""
    keys = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keys.append(line)
    return tuple(keys)


def configured_keys(settings: Settings) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(keys, admin keys) from the settings and the keys file (read here)."""
    keys = tuple(settings.api_keys)
    if settings.api_keys_file:
        keys += read_keys_file(settings.api_keys_file)
    return keys, tuple(settings.admin_keys)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


class KeyRing:
    """The configured keys, looked up in constant time; ``key_id`` is their stored identity."""

    def __init__(self, keys: tuple[str, ...], admin_keys: tuple[str, ...], id_secret: bytes):
        self._id_secret = id_secret
        entries: dict[bytes, Principal] = {}
        for key in keys:
            entries.setdefault(_digest(key), Principal(self.key_id(key)))
        for key in admin_keys:
            entries[_digest(key)] = Principal(self.key_id(key), admin=True)
        self._entries = tuple(entries.items())

    @property
    def configured(self) -> bool:
        return bool(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def key_id(self, key: str) -> str:
        """Non-reversible id of a key (HMAC-SHA256 under the server secret, 32 hex digits)."""
        return hmac.new(self._id_secret, key.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]

    def identify(self, presented: str) -> Principal | None:
        """The principal of a presented key, or ``None``; compares against every key."""
        digest = _digest(presented)
        found = None
        for known, principal in self._entries:
            if hmac.compare_digest(digest, known):
                found = principal
        return found


# -- the server secret and signed links ----------------------------------------------------------------


def load_or_create_secret(data_dir: Path) -> bytes:
    """The service's secret in ``data_dir/server.secret``: created (random, 0600) if missing."""
    path = Path(data_dir) / SECRET_FILE
    if not path.exists():
        tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    text = path.read_text(encoding="ascii").strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < 16:
        raise RuntimeError(
            f"{path} is not a secret this service wrote (delete it to make a new one; "
            f"existing links and job ownership are then lost)"
        )
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users; it should be mode 0600", path)
    return secret


def _subkey(secret: bytes, purpose: str) -> bytes:
    return hmac.new(secret, purpose.encode(), hashlib.sha256).digest()


class LinkSigner:
    """Signed, expiring links: ``expires=<unix s>&sig=<hex HMAC-SHA256(path + "\\n" + expires)>``.

    ``expires`` is rounded up to a step of ``ttl/100`` (at most an hour), so repeated answers
    about a job carry the same link; a link is valid for at least ``ttl_s`` seconds."""

    def __init__(self, secret: bytes, ttl_s: float, *, clock: Callable[[], float] = time.time):
        self._key = secret
        self.ttl_s = ttl_s
        self.clock = clock
        self._step = max(1, min(3600, int(ttl_s // 100)))

    def signature(self, path: str, expires: int) -> str:
        return hmac.new(self._key, f"{path}\n{expires}".encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def query(self, path: str) -> str:
        expires = math.ceil((self.clock() + self.ttl_s) / self._step) * self._step
        return f"expires={expires}&sig={self.signature(path, expires)}"

    def check(self, path: str, query: Mapping[str, str]) -> bool:
        """A valid signature of ``path`` that has not expired."""
        raw_expires, sig = query.get("expires", ""), query.get("sig", "")
        if not (raw_expires.isascii() and raw_expires.isdigit() and len(raw_expires) <= 12):
            return False
        expires = int(raw_expires)
        good = hmac.compare_digest(self.signature(path, expires).encode(), sig.encode("utf-8", "surrogatepass"))
        return good and self.clock() <= expires


class Gate:
    """The keys and the link signer of one running service (``app[GATE]``)."""

    def __init__(self, keyring: KeyRing, links: LinkSigner):
        self.keyring = keyring
        self.links = links

    @classmethod
    def from_settings(cls, settings: Settings, secret: bytes, *, clock: Callable[[], float] = time.time) -> "Gate":
        keys, admin = configured_keys(settings)
        return cls(
            KeyRing(keys, admin, _subkey(secret, "key-id")),
            LinkSigner(_subkey(secret, "links"), settings.link_ttl_s, clock=clock),
        )


GATE = web.AppKey("auth_gate", Gate)


# -- the start-up rule ------------------------------------------------------------------------------


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 and ::1; anything else (names, wildcards) is not loopback."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class StartupCheck(NamedTuple):
    refusal: str | None = None  # one line: why the service must not start
    warning: str | None = None  # one line to print when it starts anyway


def startup_check(settings: Settings) -> StartupCheck:
    """The bind rule: a non-loopback address needs keys, or ``--no-auth`` said explicitly."""
    try:
        keys, admin = configured_keys(settings)
    except (OSError, UnicodeDecodeError) as exc:
        return StartupCheck(f"cannot read --api-keys-file {settings.api_keys_file}: {exc.__class__.__name__}")
    if settings.api_keys_file and not keys:
        return StartupCheck(f"--api-keys-file {settings.api_keys_file} holds no key")
    if keys or admin:
        if settings.no_auth:
            return StartupCheck("--no-auth contradicts the configured API keys; give one or the other")
        return StartupCheck()
    if settings.require_api_key:
        return StartupCheck("--require-api-key without any key: give --api-keys, --api-keys-file or --admin-keys")
    if is_loopback_host(settings.host):
        return StartupCheck()
    if settings.no_auth:
        return StartupCheck(
            warning=f"WARNING: --no-auth: the service on {settings.host} is open to anyone who "
            f"can reach it (no API keys)"
        )
    return StartupCheck(
        f"refusing to listen on {settings.host!r} without API keys: give --api-keys (or "
        f"--api-keys-file), or --no-auth to run open to anyone who can reach it"
    )


# -- middlewares ----------------------------------------------------------------------------------


@web.middleware
async def strip_key_prefix(request: web.Request, handler) -> web.StreamResponse:
    """``/k/<key>/rest`` → the request ``/rest`` carrying ``<key>``, through the whole app.

    The outermost middleware: the stripped request is dispatched again (routing, the other
    middlewares, the handler), so every route exists under the prefix and nothing below this
    sees the key in a path."""
    raw = request.raw_path
    if not raw.startswith(KEY_PREFIX) or _PATH_KEY in request:
        return await handler(request)
    path, has_query, query = raw.partition("?")
    segment, slash, rest = path[len(KEY_PREFIX) :].partition("/")
    if not segment or not slash:
        return await handler(request)
    rel_url = URL.build(path="/" + rest, query_string=query if has_query else "", encoded=True)
    if "Expect" in request.headers:  # answered already for the outer request
        headers = request.headers.copy()
        del headers["Expect"]
        inner = request.clone(rel_url=rel_url, headers=headers)
    else:
        inner = request.clone(rel_url=rel_url)
    inner[_PATH_KEY] = unquote(segment, errors="surrogateescape")
    return await request.app._handle(inner)  # aiohttp's dispatch (routing + middlewares)


class _ApiKeyField(msgspec.Struct):
    apiKey: object = None


_api_key_decoder = msgspec.json.Decoder(_ApiKeyField)


async def _presented_key(request: web.Request) -> str | None:
    key = request.headers.get("X-API-Key")
    if key:
        return key
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if request.get(_PATH_KEY):
        return request[_PATH_KEY]
    if (
        request.method == "POST"
        and request.path.startswith(CAPCUT_PREFIX)
        and request.content_type == "application/json"
    ):
        settings: Settings = request.app[SETTINGS]
        declared = request.content_length
        if declared is not None and declared > settings.max_body_bytes:
            return None  # the route refuses the body (413) before reading it; no key here
        raw = await request.read()
        if json_depth_error(raw, settings.max_json_depth) is not None:
            return None  # the route answers 400 with the path
        try:
            field = _api_key_decoder.decode(raw).apiKey
        except (msgspec.DecodeError, ValueError, RecursionError):
            return None
        if isinstance(field, str) and field:
            return field
    return None


def _has_link(request: web.Request) -> bool:
    return any(p in request.query for p in LINK_PARAMS)


@web.middleware
async def authenticate(request: web.Request, handler) -> web.StreamResponse:
    """Set ``request[PRINCIPAL]``, or refuse with 401/403 (see the module docstring)."""
    gate = request.app[GATE]
    if not gate.keyring.configured:
        request[PRINCIPAL] = ANONYMOUS
        return await handler(request)
    name = request.match_info.route.name
    if name in PUBLIC_ROUTES:
        request[PRINCIPAL] = ANONYMOUS
        return await handler(request)
    presented = await _presented_key(request)
    principal = gate.keyring.identify(presented) if presented is not None else None
    if presented is not None and principal is None:
        raise ApiError(
            "INVALID_API_KEY",
            "the API key is not one this server accepts",
            headers={"WWW-Authenticate": 'Bearer realm="draft-renderer"'},
        )
    if name in FILE_ROUTES and _has_link(request):
        if gate.links.check(request.path, request.query):
            principal = LINK_HOLDER
        elif principal is None:
            raise ApiError(
                "LINK_INVALID",
                "the link's signature is wrong or it has expired: ask for the job again for a fresh link",
            )
    if principal is None:
        raise ApiError(
            "UNAUTHORIZED",
            "send a key in X-API-Key, Authorization: Bearer, a /k/<key>/ base URL or apiKey",
            headers={"WWW-Authenticate": 'Bearer realm="draft-renderer"'},
        )
    if name in ADMIN_ROUTES and not principal.admin:
        raise ApiError("FORBIDDEN", "this route needs an admin key (--admin-keys)")
    request[PRINCIPAL] = principal
    return await handler(request)


__all__ = [
    "ANONYMOUS",
    "ANONYMOUS_KEY_ID",
    "LINK_HOLDER",
    "PUBLIC_ROUTES",
    "ADMIN_ROUTES",
    "FILE_ROUTES",
    "GATE",
    "PRINCIPAL",
    "Principal",
    "KeyRing",
    "LinkSigner",
    "Gate",
    "StartupCheck",
    "principal_of",
    "read_keys_file",
    "configured_keys",
    "load_or_create_secret",
    "is_loopback_host",
    "startup_check",
    "strip_key_prefix",
    "authenticate",
]
