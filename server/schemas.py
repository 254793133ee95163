"""Request and response bodies (msgspec Structs) and their module-level typed decoders.

Unknown JSON fields are ignored; a value of the wrong type is a 400 ``VALIDATION_ERROR`` whose
``error.path`` is the JSON path (``$.draft_url``). The OpenAPI document is generated from these
types (``server.openapi``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from fractions import Fraction
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from .errors import ApiError, ErrorBody, ErrorInfo, from_msgspec
from .jobs.model import RenderSpec
from .request_limits import check_depth, check_output_budgets
from .settings import X264_PRESETS, Settings

CapcutStatus = Literal["pending", "processing", "completed", "failed"]
JobState = Literal["queued", "running", "completed", "failed", "cancelled"]
Preset = Literal[X264_PRESETS]  # type: ignore[valid-type]

#: longest URL accepted in a request field (draft_url, callback_url); longer is a 400 at decode
MAX_URL_CHARS = 4096
Url = Annotated[str, Meta(max_length=MAX_URL_CHARS)]
#: longest apiKey accepted
MAX_KEY_CHARS = 256

# -- capcut-mate routes ------------------------------------------------------------------------


class GenVideoRequest(msgspec.Struct):
    """``POST /openapi/capcut-mate/v1/gen_video``."""

    draft_url: Annotated[
        str, Meta(description="capcut-mate get_draft URL carrying ?draft_id=", max_length=MAX_URL_CHARS)
    ]
    apiKey: (
        Annotated[str, Meta(description="UUID; required when the server enforces API keys", max_length=MAX_KEY_CHARS)]
        | None
    ) = None


class GenVideoResponse(msgspec.Struct):
    code: int
    message: str
    status: CapcutStatus
    progress: Annotated[int, Meta(ge=0, le=100)]
    draft_url: str
    task_id: str
    #: present once the job is completed
    video_url: str | UnsetType = UNSET


class GenVideoStatusRequest(msgspec.Struct):
    """``POST /openapi/capcut-mate/v1/gen_video_status``."""

    draft_url: Url


class WarningOut(msgspec.Struct, omit_defaults=True):
    """Something the draft uses that is not rendered (or only approximated)."""

    kind: str
    status: str
    name: str = ""
    resource_id: str = ""
    segment_id: str = ""
    start_us: int | None = None
    end_us: int | None = None
    message: str = ""


class GenVideoStatusResponse(msgspec.Struct):
    code: int
    message: str
    draft_url: str
    status: CapcutStatus
    progress: Annotated[int, Meta(ge=0, le=100)]
    video_url: str
    error_message: str
    created_at: str
    started_at: str | None
    completed_at: str | None
    phase: str
    error_code: str
    warnings: list[WarningOut]
    eta_s: float | None
    task_id: str


class ActiveCountResponse(msgspec.Struct):
    code: int
    message: str
    count: int


# -- native API --------------------------------------------------------------------------------


class OutputOptions(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Output options; unset = as the draft says (canvas size, draft fps, whole timeline)."""

    width: Annotated[int, Meta(ge=16, le=7680)] | None = None
    height: Annotated[int, Meta(ge=16, le=7680)] | None = None
    fps: (
        Annotated[float, Meta(gt=0, le=240)]
        | Annotated[str, Meta(pattern=r"^[1-9][0-9]{0,6}(/[1-9][0-9]{0,6})?$")]
        | None
    ) = None
    crf: Annotated[int, Meta(ge=0, le=51)] | None = None
    preset: Preset | None = None
    start_s: Annotated[float, Meta(ge=0, le=86400)] | None = None
    end_s: Annotated[float, Meta(gt=0, le=86400)] | None = None
    #: low-resolution quick preview (480 px wide unless width/height are given, fast encode)
    preview: bool = False


class RenderRequest(msgspec.Struct, kw_only=True):
    """``POST /v1/renders``: exactly one of ``draft_url`` and ``draft``."""

    draft_url: Url | None = None
    #: an inline ``draft_content.json`` object; its material paths must be http(s) URLs
    draft: dict[str, Any] | None = None
    output: OutputOptions = msgspec.field(default_factory=OutputOptions)
    #: POSTed the job (signed) when it reaches a terminal state
    callback_url: Url | None = None


class RenderResultOut(msgspec.Struct):
    width: int
    height: int
    fps: str
    frames: int
    duration_s: float
    size_bytes: int
    elapsed_s: float
    realtime_factor: float | None


class RenderLinks(msgspec.Struct, omit_defaults=True):
    self: str
    events: str
    video: str | None = None
    poster: str | None = None


class RenderJob(msgspec.Struct):
    id: str
    state: JobState
    phase: str
    progress: Annotated[int, Meta(ge=0, le=100)]
    frames_done: int
    frames_total: int
    eta_s: float | None
    attempts: int
    draft_url: str | None
    draft_id: str | None
    output: OutputOptions
    callback_url: str | None
    created_at: str
    started_at: str | None
    completed_at: str | None
    error: ErrorInfo | None
    warnings: list[WarningOut]
    video_url: str | None
    poster_url: str | None
    result: RenderResultOut | None
    links: RenderLinks


class RenderJobList(msgspec.Struct):
    items: list[RenderJob]
    #: pass as ``before`` to get the next (older) page; null at the end
    next_before: int | None


class Health(msgspec.Struct):
    status: str
    version: str
    concurrency: int
    workers_alive: int
    queue_depth: int
    jobs: dict[str, int]


class WorkerNode(msgspec.Struct):
    """One node of ``GET /v1/workers``: a process with worker slots that heart-beats into the store."""

    id: str
    host: str
    pid: int
    #: "api+worker" (``python -m server``) or "worker" (``python -m server worker``)
    role: str
    #: worker processes (renders at once)
    slots: int
    #: ids of the jobs it runs now
    jobs: list[str]
    started_at: str | None
    #: its last heartbeat
    seen_at: str | None


class WorkerList(msgspec.Struct):
    """``GET /v1/workers``: the live nodes, by id."""

    workers: list[WorkerNode]


# -- decoders ----------------------------------------------------------------------------------

GEN_VIDEO_DECODER = msgspec.json.Decoder(GenVideoRequest)
GEN_VIDEO_STATUS_DECODER = msgspec.json.Decoder(GenVideoStatusRequest)
RENDER_REQUEST_DECODER = msgspec.json.Decoder(RenderRequest)

ENCODER = msgspec.json.Encoder()


def decode(decoder: msgspec.json.Decoder, raw: bytes, *, max_depth: int = 64):
    """Decode a request body; errors → 400 VALIDATION_ERROR with the JSON path (also for JSON
    nested deeper than ``max_depth``, checked before decoding)."""
    if not raw.strip():
        raise ApiError("VALIDATION_ERROR", "$: the request body is empty (a JSON object is expected)", path="$")
    check_depth(raw, max_depth)
    try:
        return decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise from_msgspec(exc) from None
    except RecursionError:  # not reached after check_depth; never a 500 all the same
        raise ApiError("VALIDATION_ERROR", "$: JSON nested too deeply", path="$") from None


# -- conversions -------------------------------------------------------------------------------

PREVIEW_WIDTH = 480


def fps_text(value: float | str | None) -> str | None:
    if value is None:
        return None
    frac = Fraction(value) if isinstance(value, str) else Fraction(value).limit_denominator(1001)
    return f"{frac.numerator}/{frac.denominator}"


def spec_from_output(out: OutputOptions, settings: Settings, path: str = "$.output") -> RenderSpec:
    """Native output options (+ server defaults) → the RenderSpec a worker renders with."""
    start_us = round(out.start_s * 1e6) if out.start_s is not None else None
    end_us = round(out.end_s * 1e6) if out.end_s is not None else None
    if end_us is not None and end_us <= (start_us or 0):  # end_s below 0.5 µs rounds to 0
        raise ApiError("VALIDATION_ERROR", f"{path}.end_s: must be greater than start_s (and 0)", path=f"{path}.end_s")
    fps = fps_text(out.fps)
    if fps is not None and Fraction(fps) == 0:  # a positive float below 1/2002 rounds to 0/1
        raise ApiError("VALIDATION_ERROR", f"{path}.fps: must be at least 1/1001", path=f"{path}.fps")
    width, height = out.width, out.height
    crf = out.crf if out.crf is not None else settings.default_crf
    preset = out.preset or settings.default_preset
    if out.preview:
        if width is None and height is None:
            width = PREVIEW_WIDTH
        crf = out.crf if out.crf is not None else 30
        preset = out.preset or "ultrafast"
    check_output_budgets(out, settings, path)
    return RenderSpec(
        width=width,
        height=height,
        fps=fps,
        crf=crf,
        preset=preset,
        start_us=start_us,
        end_us=end_us,
        threads=settings.render_threads,
    )


def capcut_spec(settings: Settings) -> RenderSpec:
    """The output options of gen_video jobs (server defaults)."""
    return RenderSpec(
        width=settings.default_width,
        height=settings.default_height,
        crf=settings.default_crf,
        preset=settings.default_preset,
        threads=settings.render_threads,
    )


def output_of(spec: RenderSpec) -> OutputOptions:
    return OutputOptions(
        width=spec.width,
        height=spec.height,
        fps=spec.fps,
        crf=spec.crf,
        preset=spec.preset,
        start_s=spec.start_us / 1e6 if spec.start_us is not None else None,
        end_s=spec.end_us / 1e6 if spec.end_us is not None else None,
    )


def warnings_out(items: list[dict[str, Any]]) -> list[WarningOut]:
    return [msgspec.convert(w, WarningOut) for w in items]


def iso_local(ts: float | None) -> str | None:
    """capcut-mate's timestamps: server-local time, no timezone, ``datetime.isoformat()``."""
    return None if ts is None else datetime.fromtimestamp(ts).isoformat()


def iso_utc(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: every type that appears in the OpenAPI document
SCHEMA_TYPES = (
    GenVideoRequest,
    GenVideoResponse,
    GenVideoStatusRequest,
    GenVideoStatusResponse,
    ActiveCountResponse,
    RenderRequest,
    RenderJob,
    RenderJobList,
    Health,
    WorkerList,
    ErrorBody,
)

__all__ = [
    "GenVideoRequest",
    "GenVideoResponse",
    "GenVideoStatusRequest",
    "GenVideoStatusResponse",
    "WarningOut",
    "ActiveCountResponse",
    "OutputOptions",
    "RenderRequest",
    "RenderResultOut",
    "RenderLinks",
    "RenderJob",
    "RenderJobList",
    "Health",
    "GEN_VIDEO_DECODER",
    "GEN_VIDEO_STATUS_DECODER",
    "RENDER_REQUEST_DECODER",
    "ENCODER",
    "SCHEMA_TYPES",
    "WorkerNode",
    "WorkerList",
    "PREVIEW_WIDTH",
    "decode",
    "spec_from_output",
    "capcut_spec",
    "output_of",
    "warnings_out",
    "iso_local",
    "iso_utc",
    "fps_text",
]
