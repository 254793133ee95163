"""The ``JobStore`` protocol: the one interface the service uses for jobs.

Backends: :class:`server.jobs.sqlite.SqliteJobStore` (embedded, default) and
:class:`server.jobs.redis.RedisJobStore` (Redis/Valkey, shared by many nodes). Another backend
joins by keeping the rules below and adding its factory to ``tests/test_server_jobstore.py``,
which is parametrised over backends.

Rules every backend keeps:

* ``claim`` hands a queued job to exactly one owner, sets a lease (``lease_until``) and
  counts an attempt; only that owner may ``heartbeat``/``complete``/``fail``/``finish_cancelled``
  the job, and only while it is ``running`` (else they return ``None``);
* a lease that runs out (``requeue_expired``) puts the job back in the queue while attempts
  remain, else fails it (``RENDER_FAILED``, reason ``lease expired``);
* ``submit`` with an ``idem_key`` returns the active job holding that key instead of creating
  one; at most one active job per key exists;
* ``submit`` refuses (``QueueFull``) when ``queue_limit`` jobs are queued already;
* every change of a job is published to ``watch(job_id)`` iterators and to listeners;
* the store has one writer per process; methods are safe to call concurrently;
* worker registry: ``register_worker`` keeps one entry per node id until its ``ttl_s`` runs
  out; ``list_workers`` never returns an expired entry;
* ownership: every job carries the ``key_id`` of the API key that submitted it (``""`` =
  anonymous). The lookups a client can reach take ``key_id``: a string restricts them to that
  owner's jobs (another owner's job is "not found"), ``None`` means every job (admin keys and
  the service itself). Idempotency keys are per owner.
* chunk jobs (``kind == "chunk"``, :data:`server.jobs.model.KIND_CHUNK`; ``server/chunked.py``)
  are internal: the parts of one long render that any worker may take. They are claimed,
  leased, re-queued and cancelled like every job, but the user-facing lookups hide them —
  ``list``, ``counts``, ``latest_by_draft_id`` and the ``queue_limit`` check of ``submit``
  leave them out. ``get`` by id still finds them (ids are never shown to users);
  ``claim_job`` lets the coordinator of a chunked render take one of its own chunks.
"""

from __future__ import annotations

import builtins
from typing import Any, AsyncIterator, Callable, Iterable, Protocol, runtime_checkable

from .model import Job, NewJob, SubmitResult


@runtime_checkable
class JobStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    # -- submission and lookup ----------------------------------------------------------------
    async def submit(self, new: NewJob, *, queue_limit: int | None = None) -> SubmitResult:
        """Create a queued job (or return the active job holding ``new.idem_key``).
        Raises ``QueueFull`` when ``queue_limit`` jobs are already queued."""

    async def get(self, job_id: str, *, key_id: str | None = None) -> Job | None: ...

    async def get_by_key(self, idem_key: str, *, key_id: str | None = None) -> Job | None:
        """The newest job submitted with this idempotency key (any state)."""

    async def latest_by_draft_id(
        self, draft_id: str, *, kind: str | None = None, terminal_only: bool = True, key_id: str | None = None
    ) -> Job | None: ...

    async def get_inline_draft(self, job_id: str) -> bytes | None: ...

    async def list(
        self, *, state: str | None = None, limit: int = 100, before_seq: int | None = None, key_id: str | None = None
    ) -> list[Job]:
        """Newest first; ``before_seq`` pages backwards."""

    async def counts(self, *, key_id: str | None = None) -> dict[str, int]:
        """Jobs per state (every state present, 0 when none); cheap for ``key_id=None``."""

    # -- the worker side ----------------------------------------------------------------------
    async def claim(self, owner: str, lease_s: float) -> Job | None:
        """Oldest runnable queued job → running, owned by ``owner`` until now + ``lease_s``."""

    async def claim_job(self, job_id: str, owner: str, lease_s: float) -> Job | None:
        """THIS queued (and available) job → running, owned by ``owner`` until now + ``lease_s``;
        ``None`` if it is not queued any more (another worker took it, or it ended)."""

    async def heartbeat(
        self,
        job_id: str,
        owner: str,
        lease_s: float,
        *,
        phase: str | None = None,
        progress: int | None = None,
        frames_done: int | None = None,
        frames_total: int | None = None,
        eta_s: float | None = None,
        warnings: list[dict[str, Any]] | None = None,
    ) -> Job | None:
        """Extend the lease and record progress; ``None`` if ``owner`` lost the job."""

    async def complete(
        self,
        job_id: str,
        owner: str,
        result: dict[str, Any],
        *,
        warnings: list[dict[str, Any]] | None = None,
        content_hash: str | None = None,
    ) -> Job | None: ...

    async def fail(
        self,
        job_id: str,
        owner: str | None,
        code: str,
        message: str,
        detail: dict[str, Any] | None = None,
        *,
        retry: bool = False,
        retry_delay_s: float = 0.0,
    ) -> Job | None:
        """Running job → failed, or back to queued when ``retry`` and attempts remain.
        ``owner=None`` fails a *queued* job (a background draft check rejected it)."""

    async def finish_cancelled(self, job_id: str, owner: str) -> Job | None:
        """The worker stopped a job whose cancel was requested."""

    async def cancel(self, job_id: str, *, key_id: str | None = None) -> Job | None:
        """Queued → cancelled at once; running → ``cancel_requested`` (the runner stops it);
        terminal → unchanged. ``None`` if unknown."""

    async def release(self, job_id: str, owner: str) -> Job | None:
        """Give a running job back to the queue without counting the attempt (shutdown)."""

    async def requeue_expired(self, now: float | None = None) -> builtins.list[Job]:
        """Running jobs whose lease ended before ``now`` → queued (or failed)."""

    async def set_check_result(self, job_id: str, *, content_hash: str | None) -> Job | None:
        """Record the outcome of a background draft check that passed."""

    # -- webhooks and retention ---------------------------------------------------------------
    async def pending_webhooks(self) -> list[Job]: ...

    async def set_webhook_state(self, job_id: str, state: str, attempts: int) -> None: ...

    async def take_webhook(self, job_id: str, holder: str, ttl_s: float) -> bool:
        """Whether ``holder`` (one webhook sender) delivers this job's webhook, for ``ttl_s``:
        always with a store of one server; one node at a time on a shared store."""

    async def purge(self, finished_before: float) -> list[Job]:
        """Delete terminal jobs that finished before the given time; returns them."""

    # -- worker registry ----------------------------------------------------------------------
    async def register_worker(self, node: dict[str, Any], ttl_s: float) -> None:
        """Add or refresh the node ``node["id"]``: ``{"id", "host", "pid", "slots", "jobs": [job
        ids], "role": "api+worker" | "worker", "started_at", "seen_at"}`` (the store sets
        ``seen_at``, UNIX seconds). A node not registered again within ``ttl_s`` disappears;
        ``ttl_s = 0`` removes it at once (a node that stops)."""

    async def list_workers(self) -> builtins.list[dict[str, Any]]:
        """The live nodes (registered within their ``ttl_s``), by id."""

    # -- notifications ------------------------------------------------------------------------
    def watch(self, job_id: str) -> AsyncIterator[Job]:
        """The job's current version, then each newer one (a slow reader skips intermediate
        versions); ends after a terminal version; empty if the job is unknown."""

    def add_listener(self, listener: Callable[[Job], None]) -> None:
        """Call ``listener(job)`` on the event loop after every change of any job."""


def states_dict(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    from .model import STATES

    out = {s: 0 for s in STATES}
    for s, n in pairs:
        out[s] = int(n)
    return out


__all__ = ["JobStore", "states_dict"]
