"""The messages between the supervisor (server process) and a worker process (pure values).

Every message is a msgspec Struct with a tag (``tag=True``: the class name) in one of two
tagged unions, encoded as MessagePack and sent as one byte string over the worker's
``multiprocessing`` pipe (``send_bytes`` / ``recv_bytes``): no pickles cross the pipe.

Parent → child (:data:`ToChild`)
    :class:`Run` (one job: :class:`JobSpec`), :class:`Cancel`, :class:`Stop`.
Child → parent (:data:`ToParent`)
    :class:`Ready` once the heavy imports are done; per job :class:`Phase`, :class:`Start`,
    :class:`Progress`, :class:`Heartbeat`, then exactly one of :class:`Done` / :class:`Error`.

The supervisor adds two outcomes of its own that never cross the pipe: :class:`Died` (the
process exited mid-job) and :class:`Lost` (the store gave the job's lease to someone else).
"""

from __future__ import annotations

from typing import Any, Literal, Union

import msgspec

from ..jobs.model import ChunkPart, RenderSpec

#: what the worker process does with a job: the whole render; one frame range of a chunked
#: render (video only, ``JobSpec.chunk``); or the final step of a chunked render (the audio of
#: the whole timeline, then the join of ``JobSpec.chunk_files``). A "render" job whose
#: ``spec.chunk_s`` splits it answers :class:`Split` instead of rendering.
JobMode = Literal["render", "chunk", "finish"]

# -- what a job needs (sent in Run) ---------------------------------------------------------------


class EgressSpec(msgspec.Struct, frozen=True, kw_only=True):
    """The server's egress policy and download limits as plain data (``server.egress``)."""

    allowlist: list[str] = []
    allow_private: bool = False
    allowlist_only: bool = False
    #: host[:port] never reachable by user URLs (the configured object-store endpoint)
    denylist: list[str] = []
    download_timeout_s: float = 1800.0
    download_min_bytes_per_s: float = 1024.0


class JobSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the job body (``server.worker.job.render_job``) needs for one job."""

    job_id: str
    spec: RenderSpec
    draft_url: str | None = None
    draft_id: str | None = None
    #: draft_content.json bytes of an inline draft
    inline_draft: bytes | None = None
    output: str
    poster: str
    #: the per-get_draft-endpoint cache folder of a draft_url job
    cache_dir: str | None = None
    work_dir: str
    #: how the worker rebuilds the node's storage (``server.storage.storage_from_spec``)
    storage: dict[str, Any] | None = None
    allow_local_paths: bool = False
    egress: EgressSpec = EgressSpec()
    #: the worker sends a Heartbeat at least this often while it runs the job
    heartbeat_s: float = 1.0
    #: the budget values (``compositor.budgets.Limits`` without ``naming``)
    limits: dict[str, Any] = {}
    #: chunked renders (``server.chunked``): what to do with the job
    mode: JobMode = "render"
    #: mode "chunk": the frame range it renders (and its blob key)
    chunk: ChunkPart | None = None
    #: mode "finish": the chunk files on this node's disk, in frame order
    chunk_files: list[str] = []
    #: mode "finish": frame-time warnings the chunks reported (merged, each once)
    chunk_warnings: list[dict[str, Any]] = []


class ChildConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Start-up arguments of a worker process."""

    log_level: str = "INFO"


# -- parent → child -------------------------------------------------------------------------------


class Run(msgspec.Struct, frozen=True, tag=True):
    job: JobSpec


class Cancel(msgspec.Struct, frozen=True, tag=True):
    job_id: str


class Stop(msgspec.Struct, frozen=True, tag=True):
    pass


ToChild = Union[Run, Cancel, Stop]

# -- child → parent -------------------------------------------------------------------------------


class Ready(msgspec.Struct, frozen=True, tag=True):
    pid: int


class Phase(msgspec.Struct, frozen=True, tag=True):
    job_id: str
    phase: str


class Start(msgspec.Struct, frozen=True, tag=True):
    """The render begins: its frame count and the warnings resolving the draft gave."""

    job_id: str
    frames_total: int
    warnings: list[dict[str, Any]] = []


class Progress(msgspec.Struct, frozen=True, tag=True):
    job_id: str
    frames_done: int
    frames_total: int
    elapsed_s: float


class Heartbeat(msgspec.Struct, frozen=True, tag=True):
    job_id: str


class JobResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a finished render reports (``result`` is stored as the job's result)."""

    result: dict[str, Any]
    warnings: list[dict[str, Any]] = []
    content_hash: str | None = None


class SplitPlan(msgspec.Struct, frozen=True, kw_only=True):
    """A job to render in chunks: the output's frame count and the ``[start, end)`` ranges."""

    frames_total: int
    ranges: list[tuple[int, int]]
    warnings: list[dict[str, Any]] = []
    content_hash: str | None = None


class Split(msgspec.Struct, frozen=True, tag=True):
    """Instead of Done: the job is longer than its ``chunk_s``; the supervisor coordinates chunks."""

    job_id: str
    plan: SplitPlan


class Done(msgspec.Struct, frozen=True, tag=True):
    job_id: str
    payload: JobResult


class Error(msgspec.Struct, frozen=True, tag=True):
    """The job failed (or was cancelled: ``code == "CANCELLED"``); ``code`` is a stable code."""

    job_id: str
    code: str
    message: str
    detail: dict[str, Any] = {}


ToParent = Union[Ready, Phase, Start, Progress, Heartbeat, Done, Split, Error]

# -- outcomes the supervisor adds (never on the pipe) ---------------------------------------------


class Died(msgspec.Struct, frozen=True, tag=True):
    job_id: str
    exitcode: int | None


class Lost(msgspec.Struct, frozen=True, tag=True):
    job_id: str


Outcome = Union[Done, Split, Error, Died, Lost]

# -- codecs ----------------------------------------------------------------------------------------


class Codec:
    """MessagePack encoder and the two typed decoders (one per direction); one per connection end."""

    def __init__(self) -> None:
        self._encoder = msgspec.msgpack.Encoder()
        self._to_child = msgspec.msgpack.Decoder(ToChild)
        self._to_parent = msgspec.msgpack.Decoder(ToParent)

    def encode(self, msg: msgspec.Struct) -> bytes:
        return self._encoder.encode(msg)

    def decode_to_child(self, raw: bytes) -> ToChild:
        return self._to_child.decode(raw)

    def decode_to_parent(self, raw: bytes) -> ToParent:
        return self._to_parent.decode(raw)


__all__ = [
    "EgressSpec",
    "JobMode",
    "JobSpec",
    "ChildConfig",
    "Run",
    "Cancel",
    "Stop",
    "ToChild",
    "Ready",
    "Phase",
    "Start",
    "Progress",
    "Heartbeat",
    "JobResult",
    "SplitPlan",
    "Split",
    "Done",
    "Error",
    "ToParent",
    "Died",
    "Lost",
    "Outcome",
    "Codec",
]
