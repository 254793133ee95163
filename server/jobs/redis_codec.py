"""Pure helpers of the Redis/Valkey job store: the store URL, key names, and job ⇄ hash fields.

A job is a hash with one field per ``Job`` field, every value text (floats as ``repr``, so
they round-trip exactly; booleans ``1``/``0``; JSON for spec, warnings, result and
error_detail); a ``None`` field is absent. Fields starting with ``_`` are the store's own
bookkeeping (index keys, stream entry ids) and never reach a ``Job``.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec

from .model import KIND_CHUNK, Job, NewJob, RenderSpec

DEFAULT_PREFIX = "draft:"
CHUNK_INDEX = "chunk:"  # chunk jobs' index keys: P chunk:st:<state>, P chunk:all, …
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_.:{}-]{1,64}$")

_JSON_FIELDS = frozenset({"spec", "warnings", "result", "error_detail"})
_enc = msgspec.json.Encoder()
_spec_dec = msgspec.json.Decoder(RenderSpec)
_any_dec = msgspec.json.Decoder()


class StoreUrl(msgspec.Struct, frozen=True):
    """A ``redis://`` / ``rediss://`` store URL split into what redis-py connects to and the
    key prefix (``?prefix=`` in the URL; every key of the store starts with it)."""

    url: str  # for redis-py ``from_url`` (the ``prefix`` parameter removed)
    prefix: str

    @property
    def redacted(self) -> str:
        """The URL without its password (for logs)."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        user = parts.username or ""
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))


def parse_store_url(raw: str) -> StoreUrl:
    """Validate a store URL (``redis://[user:password@]host[:port][/db][?prefix=p]``,
    ``rediss://`` for TLS). Raises ``ValueError`` with the reason."""
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"store URL must start with redis:// or rediss://, not {parts.scheme or raw!r}")
    if not parts.hostname:
        raise ValueError("store URL names no host")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"store URL has a bad port: {exc}") from None
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ValueError(f"store URL database must be a number, not {path!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = DEFAULT_PREFIX
    rest = []
    for k, v in query:
        if k == "prefix":
            prefix = v
        else:
            rest.append((k, v))
    if not _PREFIX_RE.match(prefix):
        raise ValueError(f"store key prefix {prefix!r} must be 1-64 characters of A-Z a-z 0-9 _ . : - {{ }}")
    return StoreUrl(url=urlunsplit(parts._replace(query=urlencode(rest))), prefix=prefix)


# -- key names ---------------------------------------------------------------------------------


class Keys:
    """Names of the store's keys under one prefix (see ``server.jobs.redis_lua``)."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.events = prefix + "events"
        self.queue = prefix + "q"
        self.lease = prefix + "lease"
        self.all = prefix + "all"
        self.webhooks = prefix + "webhooks"
        self.workers = prefix + "workers"  # zset: node id → expiry (store clock)
        self.worker_nodes = prefix + "worker-nodes"  # hash: node id → JSON

    def job(self, job_id: str) -> str:
        return f"{self.prefix}job:{job_id}"

    def webhook_holder(self, job_id: str) -> str:
        """The node delivering the job's webhook (``SET NX`` with a TTL)."""
        return f"{self.prefix}wh:{job_id}"

    def inline(self, job_id: str) -> str:
        return f"{self.prefix}inline:{job_id}"

    def state(self, state: str) -> str:
        return f"{self.prefix}st:{state}"

    def owner(self, key_id: str) -> str:
        return f"{self.prefix}own:{key_id}"

    def owner_state(self, key_id: str, state: str) -> str:
        return f"{self.prefix}ks:{key_id}:{state}"

    def draft(self, draft_id: str) -> str:
        return f"{self.prefix}draft:{draft_id}"

    def idem_active(self, key_id: str, idem_key: str) -> str:
        """The active job of an idempotency key (per owner; the length keeps names unambiguous)."""
        return f"{self.prefix}idem:{len(key_id)}:{key_id}:{idem_key}"

    def idem_jobs(self, key_id: str, idem_key: str) -> str:
        return f"{self.prefix}ik:{len(key_id)}:{key_id}:{idem_key}"

    def idem_jobs_any_owner(self, idem_key: str) -> str:
        return f"{self.prefix}ia:{idem_key}"


# -- values ------------------------------------------------------------------------------------


def num(x: float) -> str:
    """A float as text that reads back to the same float."""
    return repr(float(x))


def text_value(name: str, value: Any) -> str:
    if name in _JSON_FIELDS:
        return _enc.encode(value).decode()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return num(value)
    return str(value)


def new_job_fields(keys: Keys, job_id: str, new: NewJob, now: float) -> dict[str, str]:
    """The hash of a new queued job (``state``, ``seq`` and ``version`` are set by the script)."""
    t = num(now)
    fields: dict[str, str] = {
        "id": job_id,
        "kind": new.kind,
        "phase": "queued",
        "spec": text_value("spec", new.spec),
        "has_inline_draft": "1" if new.inline_draft is not None else "0",
        "max_attempts": str(new.max_attempts),
        "pending_check": "1" if new.pending_check else "0",
        "key_id": new.key_id,
        "available_at": t,
        "created_at": t,
        "updated_at": t,
        "_own": keys.owner(new.key_id),
    }
    if new.kind == KIND_CHUNK:  # internal parts of a chunked render: indexed apart (hidden)
        fields["_ix"] = CHUNK_INDEX
        fields["_own"] = keys.prefix + CHUNK_INDEX + f"own:{new.key_id}"
    for name in ("draft_url", "draft_id", "idem_key", "content_hash", "callback_url"):
        value = getattr(new, name)
        if value is not None:
            fields[name] = value
    if new.draft_id is not None:
        fields["_draftz"] = keys.draft(new.draft_id)
    if new.idem_key is not None:
        fields["_ik"] = keys.idem_active(new.key_id, new.idem_key)
        fields["_ikz"] = keys.idem_jobs(new.key_id, new.idem_key)
        fields["_iaz"] = keys.idem_jobs_any_owner(new.idem_key)
    return fields


def changes(sets: Mapping[str, Any]) -> str:
    """``{"set": {field: text}, "del": [fields]}`` as JSON for a script (``None`` deletes)."""
    out: dict[str, Any] = {"set": {}, "del": []}
    for name, value in sets.items():
        if value is None:
            out["del"].append(name)
        else:
            out["set"][name] = text_value(name, value)
    return _enc.encode(out).decode()


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, (bytes, bytearray)) else str(v)


def job_from_fields(fields: Mapping[str, str]) -> Job:
    d: dict[str, Any] = {}
    for name, value in fields.items():
        if name.startswith("_"):
            continue
        if name == "spec":
            d[name] = _spec_dec.decode(value)
        elif name in _JSON_FIELDS:
            d[name] = _any_dec.decode(value)
        else:
            d[name] = value
    return msgspec.convert(d, Job, strict=False)


def job_from_flat(flat: Iterable[Any]) -> Job | None:
    """A job from an ``HGETALL`` reply (a flat list or a dict); ``None`` for an empty one."""
    if isinstance(flat, Mapping):
        pairs = {_text(k): _text(v) for k, v in flat.items()}
    else:
        items = [_text(x) for x in flat]
        pairs = dict(zip(items[::2], items[1::2]))
    return job_from_fields(pairs) if pairs else None


def job_from_json(doc: bytes) -> Job:
    """A job from a script's reply (the hash as a JSON object of strings)."""
    return job_from_fields(_any_dec.decode(doc))


def job_from_event(data: bytes) -> Job:
    """The job of a message of the events channel (``<origin node id> <JSON of the hash>``)."""
    _, _, body = data.partition(b" ")
    return job_from_fields(_any_dec.decode(body))


__all__ = [
    "DEFAULT_PREFIX",
    "StoreUrl",
    "parse_store_url",
    "Keys",
    "num",
    "new_job_fields",
    "changes",
    "job_from_fields",
    "job_from_flat",
    "job_from_json",
    "job_from_event",
]
