"""The service's settings: one frozen struct built from command-line flags and the environment.

Every setting has a flag (``--queue-limit``) and an environment variable
(``DRAFT_SERVER_QUEUE_LIMIT``); a flag wins over the environment, the environment over the
default. ``Settings`` is immutable; tests build it directly (``Settings(data_dir=tmp, …)``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Annotated, Literal, Mapping, Sequence

import msgspec

ENV_PREFIX = "DRAFT_SERVER_"

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")

Seconds = Annotated[float, msgspec.Meta(ge=0)]


def default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "draft-renderer")


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """All knobs of the service (see docs/service.md for the table)."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 30000
    data_dir: str = msgspec.field(default_factory=default_data_dir)
    #: base of absolute URLs the service hands out (``video_url``); default ``http://host:port``
    public_base_url: str | None = None
    #: the job store: "sqlite" (``jobs.sqlite3`` in the data directory) or a Redis/Valkey URL
    #: ``redis://[user:password@]host:port/db[?prefix=p]`` (``rediss://`` for TLS) shared by many nodes
    store: str = "sqlite"
    #: renders running at once (each in its own worker process); 0 = accept jobs, render none
    concurrency: Annotated[int, msgspec.Meta(ge=0, le=64)] = 1
    #: queued (not yet running) jobs accepted before submissions get 503 BUSY
    queue_limit: Annotated[int, msgspec.Meta(ge=1)] = 10_000
    #: a render running longer than this is killed and fails with RENDER_TIMEOUT
    job_timeout_s: Seconds = 3600.0
    #: finished jobs and their files are deleted this long after they finished
    retention_s: Seconds = 7 * 86400.0
    #: a worker's claim on a job; a crashed worker's job runs again after about this long
    lease_s: Annotated[float, msgspec.Meta(gt=0)] = 15.0
    #: attempts per job when workers crash (render errors are not retried)
    max_attempts: Annotated[int, msgspec.Meta(ge=1)] = 3
    #: a render cancelled but still running after this long is killed
    cancel_grace_s: Seconds = 1.0
    #: jobs one worker process runs before it is replaced by a fresh one
    worker_max_tasks: Annotated[int, msgspec.Meta(ge=1)] = 50
    #: HMAC-SHA256 key of webhook signatures (``X-Signature``); none = unsigned webhooks
    webhook_secret: str | None = None
    webhook_retries: Annotated[int, msgspec.Meta(ge=0)] = 6
    webhook_backoff_s: Seconds = 1.0
    webhook_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    #: answer capcut-mate routes with HTTP 200 whatever happened (capcut-mate's own envelope)
    capcut_always_200: bool = False
    #: how gen_video / POST /v1/renders check a draft_url at submission: "sync" (GET get_draft
    #: and draft_content.json before answering), "async" (answer at once; a background check
    #: fails the job within seconds) or "off" (the worker finds out)
    submit_check: Literal["sync", "async", "off"] = "sync"
    submit_check_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 3.0
    # -- egress (compositor/egress.py; docs/security.md "Egress policy")
    #: hosts, ``host:port`` pairs, IPs and CIDRs every outbound URL (draft_url, file list, materials,
    #: stickers, redirects, callback_url) may reach even when they are loopback/private/link-local …
    url_allowlist: tuple[str, ...] = ()
    #: trusted networks only: outbound URLs may reach any address (no egress policy)
    allow_private_networks: bool = False
    #: outbound URLs must name a host on url_allowlist (public hosts are refused too)
    url_allowlist_only: bool = False
    #: a downloaded file (all attempts together) must arrive within this many seconds
    download_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 1800.0
    #: a download slower than this over 10 s (after 10 s of grace) fails (0 = no minimum)
    download_min_bytes_per_s: Annotated[float, msgspec.Meta(ge=0)] = 1024.0
    # -- end egress
    #: trusted setups only: render local draft folders and material paths outside the draft folder
    allow_local_paths: bool = False
    #: output options of gen_video jobs (None = the draft's canvas size)
    default_width: Annotated[int, msgspec.Meta(ge=16, le=8192)] | None = None
    default_height: Annotated[int, msgspec.Meta(ge=16, le=8192)] | None = None
    default_crf: Annotated[int, msgspec.Meta(ge=0, le=51)] = 23
    default_preset: Literal[X264_PRESETS] = "veryfast"  # type: ignore[valid-type]
    #: jobs whose output is longer than this many seconds are split into chunk jobs rendered in
    #: parallel by any worker, then joined by stream copy (docs/scale-out.md; 0 = never split).
    #: A setting of the node that accepts the job: stamped into the job at submission.
    chunk_seconds: Annotated[float, msgspec.Meta(ge=0)] = 60.0
    #: encoder/decoder threads per render (0 = auto)
    render_threads: Annotated[int, msgspec.Meta(ge=0, le=64)] = 0
    log_level: str = "INFO"
    # -- object storage (server/storage_s3.py; docs/scale-out.md "Object storage")
    #: where outputs and shared artefacts live: "local" (the data directory) or s3://bucket/prefix
    storage: str = "local"
    #: S3-compatible endpoint (MinIO, R2, OSS …); none = AWS. Operator configuration: exempt
    #: from the egress policy, and user URLs may not name it
    s3_endpoint_url: str | None = None
    #: "path" (MinIO and most self-hosted stores), "virtual" (OSS) or "auto" (boto3 decides)
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    #: multipart part size of uploads and downloads, MiB (S3's minimum part is 5 MiB)
    s3_part_size_mb: Annotated[int, msgspec.Meta(ge=5, le=5120)] = 16
    #: public links ``<base>/<object key>`` instead of presigned URLs (a CDN or a public bucket)
    s3_public_base_url: str | None = None
    # -- end object storage

    # -- authentication (server/auth.py, docs/security.md) ---------------------------------
    #: accepted API keys (opaque strings); any key configured = every route but /healthz,
    #: /docs and /openapi.json needs one, on loopback too
    api_keys: tuple[str, ...] = ()
    #: a file of more keys, one per line (``#`` comments, blank lines ignored)
    api_keys_file: str | None = None
    #: keys that see and cancel every job (they also count as configured keys)
    admin_keys: tuple[str, ...] = ()
    #: legacy flag: keys are required whenever keys are configured; alone it refuses to start
    require_api_key: bool = False
    #: lifetime of the signed video_url / poster_url links
    link_ttl_s: Annotated[float, msgspec.Meta(gt=0)] = 7 * 86400.0
    #: allow a non-loopback listen address without keys (the service is then open to anyone)
    no_auth: bool = False
    #: origins answered with CORS headers (exact ``scheme://host[:port]``); empty = no CORS headers
    cors_origins: tuple[str, ...] = ()

    # -- budgets: resource limits of requests, drafts and workers (docs/security.md) -----------
    #: each side of the draft canvas and of the output frame, pixels
    max_side_px: Annotated[int, msgspec.Meta(ge=16)] = 4096
    #: output frame rate
    max_fps: Annotated[int, msgspec.Meta(ge=1)] = 120
    #: output duration, seconds, and output frames
    max_duration_s: Annotated[float, msgspec.Meta(gt=0)] = 7200.0
    max_frames: Annotated[int, msgspec.Meta(ge=1)] = 432_000
    #: segments over all tracks of a draft
    max_segments: Annotated[int, msgspec.Meta(ge=1)] = 5000
    #: decoded pixels of one still image, and of all distinct still images of a draft
    max_still_pixels: Annotated[int, msgspec.Meta(ge=1)] = 100_000_000
    max_total_still_pixels: Annotated[int, msgspec.Meta(ge=1)] = 1_000_000_000
    #: playback speed range of a clip (JianYing's 0.1x to 100x)
    min_speed: Annotated[float, msgspec.Meta(gt=0)] = 0.1
    max_speed: Annotated[float, msgspec.Meta(gt=0)] = 100.0
    #: nesting depth of JSON request bodies and of draft_content.json
    max_json_depth: Annotated[int, msgspec.Meta(ge=4, le=10_000)] = 64
    #: JSON request bodies, bytes (POST /v1/renders, which may carry an inline draft: max_draft_bytes)
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 1024 * 1024
    max_draft_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 16 * 1024 * 1024
    #: resident memory of a worker process, MiB; over it the job fails with LIMIT_EXCEEDED and
    #: the worker is replaced (0 = no ceiling)
    worker_memory_mb: Annotated[int, msgspec.Meta(ge=0)] = 3072

    # -- derived ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser().absolute()

    def replace(self, **changes) -> "Settings":
        return msgspec.structs.replace(self, **changes)

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_sources(cls, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> "Settings":
        """Build from flags (``argv``) over environment variables over defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.__struct_fields__:
            raw = environ.get(ENV_PREFIX + name.upper())
            for alias in _ENV_ALIASES.get(name, ()):
                raw = environ.get(ENV_PREFIX + alias) if raw is None else raw
            if raw is not None:
                values[name] = _from_text(name, raw)
        args = build_parser().parse_args(argv)
        for name, value in vars(args).items():
            if value is not None:
                values[name] = _from_text(name, value) if isinstance(value, str) else value
        try:
            settings = msgspec.convert(values, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SystemExit(f"invalid setting: {exc}") from None
        _check_egress(settings)
        _check_storage(settings)
        _check_store(settings)
        return settings


def _check_storage(settings: Settings) -> None:
    """-- object storage: ``--storage`` is "local" or a well-formed s3://bucket/prefix."""
    if settings.storage == "local":
        return
    from .storage_s3 import parse_storage_url

    try:
        parse_storage_url(settings.storage)
    except ValueError as exc:
        raise SystemExit(f"invalid setting storage: {exc}") from None


def _check_store(settings: Settings) -> None:
    """``store`` is "sqlite" or a redis:// / rediss:// URL that parses."""
    if settings.store == "sqlite":
        return
    from .jobs.redis_codec import parse_store_url

    try:
        parse_store_url(settings.store)
    except ValueError as exc:
        raise SystemExit(f"invalid setting store: {exc}") from None


def _check_egress(settings: Settings) -> None:
    """-- egress: every url_allowlist entry must parse (a host, host:port, IP or CIDR)."""
    from compositor.egress import EgressPolicy

    try:
        EgressPolicy.from_settings(settings.url_allowlist)
    except ValueError as exc:
        raise SystemExit(f"invalid setting url_allowlist: {exc}") from None


_BOOLS = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
    "": False,
}
_LISTS = {"api_keys", "admin_keys", "cors_origins", "url_allowlist"}
#: further environment names of a setting (``DRAFT_SERVER_LINK_TTL`` as well as ``…_LINK_TTL_S``)
_ENV_ALIASES = {"link_ttl_s": ("LINK_TTL",)}
_OPTIONAL = {
    "public_base_url",
    "webhook_secret",
    "default_width",
    "default_height",
    "api_keys_file",
    "s3_endpoint_url",
    "s3_public_base_url",
}


def _from_text(name: str, raw: str):
    """Environment/flag text to a value msgspec can convert (lists are comma-separated)."""
    if name in _LISTS:
        return tuple(x.strip() for x in raw.split(",") if x.strip())
    field_type = Settings.__annotations__.get(name, "")
    if "bool" in str(field_type):
        key = raw.strip().lower()
        if key not in _BOOLS:
            raise SystemExit(f"invalid setting {name}: {raw!r} is not a boolean")
        return _BOOLS[key]
    if name in _OPTIONAL and raw.strip() == "":
        return None
    return raw


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m server",
        description="draft-renderer HTTP service (capcut-mate gen_video + /v1/renders)",
        epilog="python -m server worker [flags]: a worker-only node (the same flags; no public API, "
        "/healthz and /metrics on 127.0.0.1 at --port)",
    )
    flag = p.add_argument
    flag("--host", help="listen address (default 127.0.0.1)")
    flag("--port", type=int, help="listen port (default 30000)")
    flag("--data-dir", dest="data_dir", help="job database, outputs and caches")
    flag("--public-base-url", dest="public_base_url", help="base of the absolute video_url links")
    flag("--store", help="job store: sqlite (default) or redis://[user:password@]host:port/db (rediss:// for TLS)")
    flag("--concurrency", type=int, help="renders at once, one worker process each (default 1)")
    flag("--queue-limit", dest="queue_limit", type=int, help="queued jobs before 503 BUSY")
    flag("--job-timeout", dest="job_timeout_s", type=float, help="seconds before RENDER_TIMEOUT")
    flag("--retention", dest="retention_s", type=float, help="seconds finished jobs and files are kept")
    flag("--lease", dest="lease_s", type=float, help="seconds of a worker's claim on a job")
    flag("--max-attempts", dest="max_attempts", type=int, help="runs per job when workers crash")
    flag("--worker-max-tasks", dest="worker_max_tasks", type=int, help="jobs per worker process")
    flag("--webhook-secret", dest="webhook_secret", help="HMAC-SHA256 key for X-Signature")
    flag(
        "--capcut-always-200",
        dest="capcut_always_200",
        action="store_const",
        const=True,
        help="capcut-mate routes answer HTTP 200 even on errors",
    )
    flag(
        "--submit-check",
        dest="submit_check",
        choices=("sync", "async", "off"),
        help="check draft_url at submission: sync (default), async, off",
    )
    flag("--submit-check-timeout", dest="submit_check_timeout_s", type=float)
    # -- egress
    flag(
        "--url-allowlist",
        dest="url_allowlist",
        help="comma-separated host, host:port, IP or CIDR entries outbound URLs may reach on private addresses",
    )
    flag(
        "--allow-private-networks",
        dest="allow_private_networks",
        action="store_const",
        const=True,
        help="TRUSTED networks only: outbound URLs may reach loopback/private/link-local addresses",
    )
    flag(
        "--url-allowlist-only",
        dest="url_allowlist_only",
        action="store_const",
        const=True,
        help="outbound URLs must name a host on --url-allowlist (public hosts are refused too)",
    )
    flag(
        "--download-timeout",
        dest="download_timeout_s",
        type=float,
        help="seconds a downloaded file may take, retries included (default 1800)",
    )
    flag(
        "--download-min-bytes-per-s",
        dest="download_min_bytes_per_s",
        type=float,
        help="minimum download throughput over a 10 s window (default 1024; 0 = none)",
    )
    # -- end egress
    flag(
        "--allow-local-paths",
        dest="allow_local_paths",
        action="store_const",
        const=True,
        help="TRUSTED setups only: render local folders and material paths outside the draft",
    )
    flag("--default-width", dest="default_width", type=int, help="gen_video output width")
    flag("--default-height", dest="default_height", type=int, help="gen_video output height")
    flag("--default-crf", dest="default_crf", type=int)
    flag("--default-preset", dest="default_preset", choices=X264_PRESETS)
    flag("--render-threads", dest="render_threads", type=int)
    flag(
        "--chunk-seconds",
        dest="chunk_seconds",
        type=float,
        help="split renders longer than this into parallel chunk jobs (default 60; 0 = off)",
    )
    flag("--log-level", dest="log_level")
    # -- object storage
    flag("--storage", dest="storage", help="'local' (default) or s3://bucket/prefix for outputs and shared drafts")
    flag("--s3-endpoint-url", dest="s3_endpoint_url", help="S3-compatible endpoint (MinIO, R2, OSS …); default AWS")
    flag("--s3-addressing-style", dest="s3_addressing_style", choices=("auto", "path", "virtual"))
    flag("--s3-part-size-mb", dest="s3_part_size_mb", type=int, help="multipart part size, MiB (default 16, min 5)")
    flag("--s3-public-base-url", dest="s3_public_base_url", help="public links <base>/<key> instead of presigned URLs")
    # -- end object storage
    # -- authentication
    flag("--api-keys", dest="api_keys", help="comma-separated API keys; any key = keys required")
    flag("--api-keys-file", dest="api_keys_file", help="file of API keys, one per line (# comments)")
    flag("--admin-keys", dest="admin_keys", help="comma-separated keys that see and cancel every job")
    flag(
        "--require-api-key",
        dest="require_api_key",
        action="store_const",
        const=True,
        help="legacy: keys are required whenever keys are configured",
    )
    flag(
        "--link-ttl", dest="link_ttl_s", type=float, help="seconds a signed video/poster link is valid (default 7 days)"
    )
    flag(
        "--no-auth",
        dest="no_auth",
        action="store_const",
        const=True,
        help="allow a non-loopback address without keys: the service is open to anyone who reaches it",
    )
    flag("--cors-origins", dest="cors_origins", help="comma-separated origins given CORS headers (default none)")
    # -- budgets (docs/security.md)
    for name, kind, text in (
        ("max_side_px", int, "max width and height of canvas and output, px (default 4096)"),
        ("max_fps", int, "max output frame rate (default 120)"),
        ("max_duration_s", float, "max output duration, s (default 7200)"),
        ("max_frames", int, "max output frames (default 432000)"),
        ("max_segments", int, "max segments of a draft (default 5000)"),
        ("max_still_pixels", int, "max decoded pixels of one still image (default 100000000)"),
        ("max_total_still_pixels", int, "max decoded pixels of a draft's stills (default 1000000000)"),
        ("min_speed", float, "min clip speed (default 0.1)"),
        ("max_speed", float, "max clip speed (default 100)"),
        ("max_json_depth", int, "max JSON nesting depth of bodies and drafts (default 64)"),
        ("max_body_bytes", int, "max JSON request body, bytes (default 1 MiB)"),
        ("max_draft_bytes", int, "max POST /v1/renders body (inline drafts), bytes (default 16 MiB)"),
        ("worker_memory_mb", int, "worker resident memory ceiling, MiB (default 3072, 0 = none)"),
    ):
        flag("--" + name.replace("_", "-"), dest=name, type=kind, help=text)
    return p


__all__ = ["Settings", "build_parser", "ENV_PREFIX", "X264_PRESETS"]
