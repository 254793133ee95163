"""Job records (pure values): what a job is, its states and phases, and the render spec it carries.

State machine::

    queued ──claim──▶ running ──complete──▶ completed
      ▲  │               │ ├──fail──────▶ failed
      │  │               │ └──cancelled─▶ cancelled
      │  └─cancel───────────────────────▶ cancelled
      └──── lease expired / worker died (attempts left) ◀─┘

``phase`` is finer and only informative (queued, starting, downloading, probing, rendering,
finalizing, and the terminal state's name).
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED = "queued", "running", "completed", "failed", "cancelled"
STATES = (QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED)
ACTIVE = frozenset({QUEUED, RUNNING})
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED})

KIND_CAPCUT = "capcut"  # submitted through capcut-mate's gen_video
KIND_NATIVE = "native"  # submitted through POST /v1/renders
KIND_CHUNK = "chunk"  # one frame range of a long render (server/chunked.py); hidden from users


class ChunkPart(msgspec.Struct, frozen=True, kw_only=True):
    """What a chunk job renders: output frames ``[start_frame, end_frame)`` of job ``parent_id``,
    uploaded to the storage blob ``blob_key``."""

    parent_id: str
    index: int
    start_frame: int
    end_frame: int
    blob_key: str


class RenderSpec(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Resolved output options a worker renders with (``None`` = as the draft says)."""

    width: int | None = None
    height: int | None = None
    fps: str | None = None  # exact rational as text, e.g. "30000/1001"
    crf: int = 23
    preset: str = "veryfast"
    start_us: int | None = None
    end_us: int | None = None
    threads: int = 0
    #: split renders longer than this into chunk jobs (the accepting node's --chunk-seconds;
    #: 0 = never). Not part of ``digest``'s meaning: stamped after the idempotency check.
    chunk_s: float = 0.0
    #: set on chunk jobs only (kind "chunk")
    chunk: ChunkPart | None = None

    def digest(self) -> str:
        """Stable hash of the output options (part of gen_video's idempotency key); how the
        service splits the work (``chunk_s``, ``chunk``) is not part of it."""
        options = msgspec.structs.replace(self, chunk_s=0.0, chunk=None)
        return hashlib.sha256(msgspec.json.encode(options, order="sorted")).hexdigest()[:32]


class NewJob(msgspec.Struct, frozen=True, kw_only=True):
    """What a submission asks for; the store adds id, state and timestamps."""

    kind: str
    spec: RenderSpec
    draft_url: str | None = None
    draft_id: str | None = None
    #: ``draft_content.json`` bytes of an inline draft (native API); kept beside the job
    inline_draft: bytes | None = None
    #: idempotency key: while a job with this key is queued/running, submitting it again
    #: returns that job instead of creating one
    idem_key: str | None = None
    content_hash: str | None = None
    callback_url: str | None = None
    max_attempts: int = 3
    #: checks of the draft still to run in the background ("async" submit check)
    pending_check: bool = False
    #: who submitted it: the non-reversible id of the API key (``server.auth``), "" = anonymous.
    #: Idempotency keys are per ``key_id``.
    key_id: str = ""


class Job(msgspec.Struct, frozen=True, kw_only=True):
    """A job as stored. Times are UNIX seconds (UTC)."""

    id: str
    seq: int
    kind: str
    state: str
    phase: str
    spec: RenderSpec
    created_at: float
    updated_at: float
    draft_url: str | None = None
    draft_id: str | None = None
    idem_key: str | None = None
    content_hash: str | None = None
    callback_url: str | None = None
    has_inline_draft: bool = False
    progress: int = 0  # 0–100 from frames rendered
    frames_done: int = 0
    frames_total: int = 0
    eta_s: float | None = None
    attempts: int = 0
    max_attempts: int = 3
    owner: str | None = None  # the worker holding the lease (not the API key: key_id)
    key_id: str = ""  # the submitting API key's id ("" = anonymous)
    lease_until: float | None = None
    available_at: float = 0.0
    cancel_requested: bool = False
    pending_check: bool = False
    error_code: str | None = None
    error_message: str | None = None
    error_detail: dict[str, Any] | None = None
    warnings: list[dict[str, Any]] = []
    result: dict[str, Any] | None = None
    started_at: float | None = None
    completed_at: float | None = None
    webhook_state: str | None = None  # None | "pending" | "delivered" | "failed"
    webhook_attempts: int = 0
    version: int = 0  # +1 on every change (watchers skip stale versions)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL


class SubmitResult(msgspec.Struct, frozen=True):
    job: Job
    created: bool  # False: an active job with the same idem_key was returned


class QueueFull(Exception):
    """The queue holds ``limit`` queued jobs already."""

    def __init__(self, limit: int):
        super().__init__(f"the queue is full ({limit} jobs waiting)")
        self.limit = limit


__all__ = [
    "QUEUED",
    "RUNNING",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "STATES",
    "ACTIVE",
    "TERMINAL",
    "KIND_CAPCUT",
    "KIND_NATIVE",
    "KIND_CHUNK",
    "ChunkPart",
    "RenderSpec",
    "NewJob",
    "Job",
    "SubmitResult",
    "QueueFull",
]
