"""Chunked renders on the supervisor's side (I/O: the job store, the storage, the slot's worker).

The plan and the keys are in :mod:`server.chunked`; the worker-process side in
:mod:`server.worker.chunk_steps`. Two calls from :mod:`server.worker.supervisor`:

* :func:`chunk_message` (``WorkerPool.job_message``): a chunk job's :class:`JobSpec` gets
  ``mode="chunk"``, its frame range, a private output and a private copy of the draft.
* :func:`after_outcome` (``_Slot.execute``, between the worker's answer and ``_settle``):
  a finished chunk is stored with ``storage.put_blob``; a :class:`Split` answer becomes the
  whole chunked render (:class:`Coordinator`): submit the chunk jobs, render queued ones on this
  slot (``store.claim_job``, ``_Slot.run_once``), heartbeat the parent with the summed progress,
  fetch every chunk with ``storage.get_blob`` (so chunks rendered on other machines arrive
  through S3), and run the ``mode="finish"`` step (audio + join) on this slot.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from compositor.paths import PathEscape, safe_join

from ..chunked import chunk_job, chunk_key, chunk_prefix, idem_key, merge_warnings
from ..jobs.model import CANCELLED, COMPLETED, FAILED, KIND_CHUNK, QUEUED, RUNNING, Job
from .protocol import Done, Error, JobSpec, Lost, Outcome, Split

if TYPE_CHECKING:
    from .supervisor import _Run, _Slot

log = logging.getLogger(__name__)

POLL_S = 0.2  # the coordinator looks at its chunks this often


async def _storage_call(fn, *args):
    """Storage methods may be blocking (local disk, boto3) or coroutines."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    return await asyncio.to_thread(fn, *args)


def chunk_message(job: Job, storage, message: JobSpec) -> JobSpec:
    """``message`` for a chunk job: its frame range, private output and draft copy."""
    part = job.spec.chunk
    if job.kind != KIND_CHUNK or part is None:
        return message
    work = storage.work_dir(job.id)
    private = work / "cache"
    if job.draft_url and job.draft_id and not job.has_inline_draft:
        try:
            seed(safe_join(storage.cache_dir_for(job.draft_url), job.draft_id), private / job.draft_id)
        except (OSError, ValueError, PathEscape):  # an unsafe id, another file system …: download instead
            log.debug("chunk %s: no local copy of the draft to seed from", job.id, exc_info=True)
    return msgspec.structs.replace(
        message,
        mode="chunk",
        chunk=part,
        output=str(work / "chunk.mp4"),
        cache_dir=str(private) if job.draft_url else None,  # a private copy of the draft
    )


def seed(shared: Path, private: Path) -> None:
    """Hard-link the files of this node's cached copy of a draft into a chunk's private folder,
    so its download finds them (same size: nothing is transferred). Downloads replace files by
    renaming, never in place, so a linked file never changes under a render."""
    if not shared.is_dir() or private.exists():
        return
    for path in shared.rglob("*"):
        if path.name.startswith(".") or not path.is_file() or path.is_symlink():
            continue
        dest = private / path.relative_to(shared)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, dest)


async def after_outcome(slot: "_Slot", run: "_Run", outcome: Outcome) -> Outcome:
    """Uploads a finished chunk; turns a :class:`Split` answer into the chunked render."""
    if isinstance(outcome, Split):
        return await Coordinator(slot, run, outcome).run()
    if run.job.kind != KIND_CHUNK:
        return outcome
    if isinstance(outcome, Done):
        return await _upload_chunk(slot, run.job, outcome)
    shutil.rmtree(slot.pool.storage.work_dir(run.job.id), ignore_errors=True)
    return outcome


async def _upload_chunk(slot: "_Slot", job: Job, outcome: Done) -> Outcome:
    part = job.spec.chunk
    assert part is not None  # kind "chunk" jobs carry their part
    storage = slot.pool.storage
    work = storage.work_dir(job.id)
    try:
        await _storage_call(storage.put_blob, part.blob_key, work / "chunk.mp4")
    except Exception as exc:
        log.exception("chunk %s: upload failed", job.id)
        return Error(job.id, "RENDER_FAILED", f"could not store the chunk: {exc}", {"reason": "chunk_upload"})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return outcome


class Coordinator:
    """One chunked render, run on the slot that claimed the parent job."""

    def __init__(self, slot: "_Slot", run: "_Run", split: Split):
        self.slot = slot
        self.pool = slot.pool
        self.store = slot.pool.store
        self.parent_run = run
        self.job: Job = run.job
        self.plan = split.plan
        self.ranges: list[tuple[int, int]] = [(int(a), int(b)) for a, b in split.plan.ranges]
        self.frames_total = split.plan.frames_total
        self.chunk_ids: list[str] = []
        self.stop_reason: str | None = None  # "cancel" | "lost"
        self._cancelling: asyncio.Task | None = None

    def request_cancel(self) -> None:
        """The parent's cancel, seen by this node (an event of the store, a DELETE here):
        stop at once and cancel the chunks (their workers hear it the same way)."""
        if self.stop_reason is None:
            self.stop_reason = "cancel"
            self._cancelling = asyncio.get_running_loop().create_task(self._cancel_chunks())

    async def run(self) -> Outcome:
        job = self.job
        try:
            await self._submit_chunks()
        except Exception as exc:
            log.exception("job %s: could not submit its chunks", job.id)
            return Error(job.id, "RENDER_FAILED", f"could not split the render: {exc}", {"reason": "chunks"})
        keeper = asyncio.get_running_loop().create_task(self._keep_parent())
        self.slot.coordinator = self
        try:
            outcome = await self._render_chunks()
            if outcome is None:
                outcome = await self._finish()
        finally:
            self.slot.coordinator = None
            keeper.cancel()
            try:
                await keeper
            except asyncio.CancelledError:
                pass
            self.slot.run = self.parent_run
        if self._cancelling is not None:
            await asyncio.gather(self._cancelling, return_exceptions=True)
        # Lost / Died: the parent runs again and reuses the chunks (and their blobs)
        if isinstance(outcome, Error):
            await self._cancel_chunks()
        if isinstance(outcome, (Done, Error)):
            await _storage_call(self.pool.storage.delete_blobs, chunk_prefix(job.id))
        return outcome

    async def _submit_chunks(self) -> None:
        store, job = self.store, self.job
        inline = await store.get_inline_draft(job.id) if job.has_inline_draft else None
        for index, (a, b) in enumerate(self.ranges):
            existing = await store.get_by_key(idem_key(job.id, index), key_id=job.key_id)
            if existing is not None and (existing.active or existing.state == COMPLETED):
                self.chunk_ids.append(existing.id)  # from an earlier attempt of the parent
                continue
            new = chunk_job(job, index, a, b)
            if inline is not None:
                new = msgspec.structs.replace(new, inline_draft=inline)
            self.chunk_ids.append((await store.submit(new)).job.id)
        self.pool.wake()  # other slots of this node may take chunks at once

    async def _chunks(self) -> list[Job]:
        jobs = []
        for chunk_id in self.chunk_ids:
            chunk = await self.store.get(chunk_id)
            if chunk is None:
                raise RuntimeError(f"chunk job {chunk_id} disappeared")
            jobs.append(chunk)
        return jobs

    async def _render_chunks(self) -> Outcome | None:
        """Render or wait for every chunk; ``None`` when all completed, else the parent's outcome."""
        job = self.job
        while True:
            if self.stop_reason == "lost":
                return Lost(job.id)
            if self.stop_reason == "cancel":
                return Error(job.id, "CANCELLED", "cancelled", {})
            chunks = await self._chunks()
            for index, chunk in enumerate(chunks):
                if chunk.state in (FAILED, CANCELLED):
                    code = chunk.error_code or ("CANCELLED" if chunk.state == CANCELLED else "RENDER_FAILED")
                    detail = {**(chunk.error_detail or {}), "chunk": index}
                    return Error(job.id, code, f"chunk {index} failed: {chunk.error_message or chunk.state}", detail)
            if all(c.state == COMPLETED for c in chunks):
                return None
            claimed = None
            for chunk in chunks:
                if chunk.state == QUEUED:
                    claimed = await self.store.claim_job(chunk.id, self.slot.owner, self.pool.settings.lease_s)
                    if claimed is not None:
                        break
            if claimed is not None:
                await self._render_here(claimed)
            else:
                await asyncio.sleep(POLL_S)

    async def _render_here(self, chunk: Job) -> None:
        """Render one claimed chunk on this slot, then upload and settle it."""
        inline = await self.store.get_inline_draft(chunk.id) if chunk.has_inline_draft else None
        try:
            run, outcome = await self.slot.run_once(chunk, self.pool.job_message(chunk, inline), self.slot.owner)
            outcome = await after_outcome(self.slot, run, outcome)
            await self.slot._settle(run, outcome)
        finally:
            self.slot.run = self.parent_run

    async def _keep_parent(self) -> None:
        """Heartbeat the parent with the chunks' summed progress; notice cancel and lost leases."""
        store, job, settings = self.store, self.job, self.pool.settings
        started = time.monotonic()
        while True:
            try:
                done = 0
                for (a, b), chunk in zip(self.ranges, await self._chunks()):
                    done += (b - a) if chunk.state == COMPLETED else chunk.frames_done if chunk.state == RUNNING else 0
                elapsed = time.monotonic() - started
                total = self.frames_total
                eta = round(elapsed / done * (total - done), 2) if done else None
                fresh = await store.heartbeat(
                    job.id,
                    self.parent_run.owner,
                    settings.lease_s,
                    phase="rendering",
                    frames_done=done,
                    frames_total=total,
                    progress=min(99, int(done * 100 / total)) if total else 0,
                    eta_s=eta,
                )
                if fresh is None:
                    log.warning("job %s: lease lost while coordinating its chunks", job.id)
                    self.stop_reason = "lost"
                    return
                if fresh.cancel_requested:
                    self.request_cancel()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job %s: progress of chunks failed", job.id)
            await asyncio.sleep(max(0.2, min(settings.lease_s / 3, 1.0)))

    async def _cancel_chunks(self) -> None:
        for chunk_id in self.chunk_ids:
            try:
                await self.store.cancel(chunk_id)
            except Exception:
                log.exception("chunk %s: cancel failed", chunk_id)

    async def _finish(self) -> Outcome:
        """Fetch the chunks (from any machine, through the storage), then let the worker
        process render the audio and join."""
        pool, job = self.pool, self.job
        work = pool.storage.work_dir(job.id) / "chunks"
        work.mkdir(parents=True, exist_ok=True)
        try:
            files = []
            for index, _ in enumerate(self.ranges):
                dest = work / f"{index:05d}.mp4"
                if not await _storage_call(pool.storage.get_blob, chunk_key(job.id, index), dest):
                    detail = {"chunk": index, "reason": "chunk_missing"}
                    return Error(job.id, "RENDER_FAILED", f"chunk {index} is missing from storage", detail)
                files.append(str(dest))
            await self.store.heartbeat(job.id, self.parent_run.owner, pool.settings.lease_s, phase="finalizing")
            inline = await self.store.get_inline_draft(job.id) if job.has_inline_draft else None
            message = msgspec.structs.replace(
                pool.job_message(job, inline),
                mode="finish",
                chunk_files=files,
                chunk_warnings=merge_warnings(*[c.warnings for c in await self._chunks()]),
            )
            run, outcome = await self.slot.run_once(job, message, self.parent_run.owner)
            self.parent_run.cancel_sent = run.cancel_sent  # how _settle reads a dead worker
            self.parent_run.timed_out = run.timed_out
            self.parent_run.memory_bytes = run.memory_bytes
            return outcome
        finally:
            shutil.rmtree(work, ignore_errors=True)


__all__ = ["after_outcome", "chunk_message", "seed", "Coordinator"]
