"""Chunked renders in the service (I/O: job store, storage, worker processes). docs/scale-out.md.

A job whose output is longer than its ``spec.chunk_s`` (the accepting node's
``--chunk-seconds``, stamped at submission) is split into frame ranges:

1. The worker that claims the job (the *coordinator*) downloads and resolves the draft as
   usual; instead of rendering, its worker process answers ``{"split": …}`` with the ranges
   (:func:`child_step`, :func:`compositor.pipeline.chunk_ranges`).
2. The coordinator submits one job of kind ``"chunk"`` per range (:class:`ChunkPart` in the
   spec; idempotency key ``chunk:<parent id>:<index>``, so a re-run parent finds the chunks of
   its earlier attempt and does not duplicate them; completed ones are reused).
3. Any worker's dispatcher claims chunk jobs like other jobs; the coordinator also takes its
   own queued chunks by id (``store.claim_job``) and renders them on its slot. A chunk renders
   ``render_range`` (video only) and is uploaded to ``storage.put_blob("chunks/<parent>/<i>.mp4")``.
   A chunk whose worker dies is failed with retry or, if its node died, re-queued when its
   lease runs out: it alone runs again, on any worker.
4. Meanwhile the coordinator heartbeats the parent with progress = the sum of its chunks' frames,
   and watches for a cancel (it cancels the chunks) or a failed chunk (it cancels the others
   and fails the job with the chunk's error).
5. With every chunk done, its worker process fetches the blobs, mixes and encodes the whole
   timeline's audio once, joins by stream copy (``join_chunks``), writes the poster, and the
   parent completes as a normal job. The blobs are deleted.

Chunk jobs render from a private copy of the draft (``work/<chunk id>/cache``): the shared
download cache is locked per draft for a whole render, which would serialise chunks of one draft
on a node. The copy is seeded with hard links of the node's cached copy when there is one (the
coordinator's split step made it), so only a node that never saw the draft downloads it.

Hooks in ``server/worker.py`` (kept to three calls): :func:`message_fields` (job message),
:func:`child_step` (in ``render_job``, the worker process) and :func:`after_outcome`
(``_Slot.execute``, after the worker process answered).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import shutil
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import msgspec

from compositor.paths import PathEscape, safe_join

from .jobs.model import CANCELLED, COMPLETED, FAILED, KIND_CHUNK, QUEUED, RUNNING, ChunkPart, Job, NewJob

log = logging.getLogger(__name__)

MODE_CHUNK = "chunk"  # the worker process renders one frame range
MODE_FINISH = "finish"  # the worker process renders the audio and joins the chunks
POLL_S = 0.2  # the coordinator looks at its chunks this often
PROGRESS_EVERY_S = 0.2


def chunk_prefix(parent_id: str) -> str:
    return f"chunks/{parent_id}"


def chunk_key(parent_id: str, index: int) -> str:
    return f"{chunk_prefix(parent_id)}/{index:05d}.mp4"


def idem_key(parent_id: str, index: int) -> str:
    return f"chunk:{parent_id}:{index}"


def chunk_job(parent: Job, index: int, start_frame: int, end_frame: int) -> NewJob:
    """The chunk job ``index`` of ``parent`` (inline draft bytes are added by the caller)."""
    part = ChunkPart(
        parent_id=parent.id,
        index=index,
        start_frame=start_frame,
        end_frame=end_frame,
        blob_key=chunk_key(parent.id, index),
    )
    return NewJob(
        kind=KIND_CHUNK,
        spec=msgspec.structs.replace(parent.spec, chunk_s=0.0, chunk=part),
        draft_url=parent.draft_url,
        draft_id=parent.draft_id,
        idem_key=idem_key(parent.id, index),
        content_hash=parent.content_hash,
        max_attempts=parent.max_attempts,
        key_id=parent.key_id,
    )


async def _storage_call(fn, *args):
    """Storage methods may be blocking (local disk) or coroutines (object stores)."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    return await asyncio.to_thread(fn, *args)


# =============================================================================================
# Parent side (the server's event loop)
# =============================================================================================


def message_fields(job: Job, storage) -> dict[str, Any]:
    """Hook in ``WorkerPool.job_message``: what a chunk job's worker process needs instead."""
    part = job.spec.chunk
    if job.kind != KIND_CHUNK or part is None:
        return {}
    work = storage.work_dir(job.id)
    private = work / "cache"
    if job.draft_url and job.draft_id and not job.has_inline_draft:
        try:
            _seed(safe_join(storage.cache_dir_for(job.draft_url), job.draft_id), private / job.draft_id)
        except (OSError, ValueError, PathEscape):  # an unsafe id, another file system …: download instead
            log.debug("chunk %s: no local copy of the draft to seed from", job.id, exc_info=True)
    return {
        "mode": MODE_CHUNK,
        "chunk": msgspec.to_builtins(part),
        "output": str(work / "chunk.mp4"),
        "cache_dir": str(private) if job.draft_url else None,  # a private copy of the draft
    }


def _seed(shared: Path, private: Path) -> None:
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


async def after_outcome(slot, run, outcome: tuple) -> tuple:
    """Hook in ``_Slot.execute`` between the worker's answer and ``_settle``: uploads a
    finished chunk; turns a ``split`` answer into the whole chunked render (coordinator)."""
    if outcome[0] != "done":
        if run.job.kind == KIND_CHUNK:
            shutil.rmtree(slot.pool.storage.work_dir(run.job.id), ignore_errors=True)
        return outcome
    if run.job.kind == KIND_CHUNK:
        return await _upload_chunk(slot.pool, run.job, outcome)
    if "split" in outcome[2]:
        return await _Coordinator(slot, run, outcome[2]).run()
    return outcome


async def _upload_chunk(pool, job: Job, outcome: tuple) -> tuple:
    part = job.spec.chunk
    assert part is not None  # kind "chunk" jobs carry their part
    work = pool.storage.work_dir(job.id)
    try:
        await _storage_call(pool.storage.put_blob, part.blob_key, work / "chunk.mp4")
    except Exception as exc:
        log.exception("chunk %s: upload failed", job.id)
        return ("error", job.id, "RENDER_FAILED", f"could not store the chunk: {exc}", {"reason": "chunk_upload"})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return outcome


class _Coordinator:
    def __init__(self, slot, run, payload: dict):
        self.slot = slot
        self.pool = slot.pool
        self.store = slot.pool.store
        self.parent_run = run
        self.job: Job = run.job
        self.split = payload["split"]
        self.payload = payload
        self.ranges: list[tuple[int, int]] = [tuple(r) for r in self.split["ranges"]]
        self.frames_total = int(self.split["frames"])
        self.chunk_ids: list[str] = []
        self.stop_reason: str | None = None  # "cancel" | "lost"

    # -- the steps ------------------------------------------------------------------------------
    async def run(self) -> tuple:
        job = self.job
        try:
            await self._submit_chunks()
        except Exception as exc:
            log.exception("job %s: could not submit its chunks", job.id)
            return ("error", job.id, "RENDER_FAILED", f"could not split the render: {exc}", {"reason": "chunks"})
        keeper = asyncio.get_running_loop().create_task(self._keep_parent())
        try:
            outcome = await self._render_chunks()
            if outcome is None:
                outcome = await self._finish()
        finally:
            keeper.cancel()
            try:
                await keeper
            except asyncio.CancelledError:
                pass
            self.slot.run = self.parent_run
        # "lost" / "died": the parent runs again and reuses the chunks (and their blobs)
        if outcome[0] == "error":
            await self._cancel_chunks()
        if outcome[0] in ("done", "error"):
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

    async def _render_chunks(self) -> tuple | None:
        """Render or wait for every chunk; ``None`` when all completed, else the parent's outcome."""
        job = self.job
        while True:
            if self.stop_reason == "lost":
                return ("lost", job.id)
            if self.stop_reason == "cancel":
                return ("error", job.id, "CANCELLED", "cancelled", {})
            chunks = await self._chunks()
            for index, chunk in enumerate(chunks):
                if chunk.state in (FAILED, CANCELLED):
                    code = chunk.error_code or ("CANCELLED" if chunk.state == CANCELLED else "RENDER_FAILED")
                    detail = {**(chunk.error_detail or {}), "chunk": index}
                    return (
                        "error",
                        job.id,
                        code,
                        f"chunk {index} failed: {chunk.error_message or chunk.state}",
                        detail,
                    )
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

    async def _run_on_slot(self, job: Job, message: dict, owner: str):
        """Run ``message`` on this slot's worker process as ``_Slot.execute`` does (timeout,
        progress writes); returns the ``_Run`` and the worker's outcome."""
        from .worker import _Run

        slot, pool = self.slot, self.pool
        proc = slot.ensure_proc()
        run = _Run(job, proc, owner)
        slot.run = run
        if not proc.send(("run", message)):
            run.outcome.set_result(("died", job.id, proc.process.exitcode))
        try:
            outcome = await asyncio.wait_for(asyncio.shield(run.outcome), pool.settings.job_timeout_s)
        except asyncio.TimeoutError:
            run.timed_out = True
            proc.kill()
            outcome = await run.outcome
        if run.writer is not None and not run.writer.done():
            await asyncio.gather(run.writer, return_exceptions=True)
        proc.tasks += 1
        return run, outcome

    async def _render_here(self, chunk: Job) -> None:
        """Render one claimed chunk on this slot, then upload and settle it."""
        inline = await self.store.get_inline_draft(chunk.id) if chunk.has_inline_draft else None
        try:
            run, outcome = await self._run_on_slot(chunk, self.pool.job_message(chunk, inline), self.slot.owner)
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
                if fresh.cancel_requested and self.stop_reason is None:
                    self.stop_reason = "cancel"
                    await self._cancel_chunks()
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

    async def _finish(self) -> tuple:
        """Fetch the chunks, then let the worker process render the audio and join."""
        pool, job = self.pool, self.job
        work = pool.storage.work_dir(job.id) / "chunks"
        work.mkdir(parents=True, exist_ok=True)
        try:
            files = []
            for index, _ in enumerate(self.ranges):
                dest = work / f"{index:05d}.mp4"
                if not await _storage_call(pool.storage.get_blob, chunk_key(job.id, index), dest):
                    detail = {"chunk": index, "reason": "chunk_missing"}
                    return ("error", job.id, "RENDER_FAILED", f"chunk {index} is missing from storage", detail)
                files.append(str(dest))
            await self.store.heartbeat(job.id, self.parent_run.owner, pool.settings.lease_s, phase="finalizing")
            inline = await self.store.get_inline_draft(job.id) if job.has_inline_draft else None
            message = {
                **pool.job_message(job, inline),
                "mode": MODE_FINISH,
                "chunk_files": files,
                "chunk_warnings": await self._chunk_warnings(),
            }
            run, outcome = await self._run_on_slot(job, message, self.parent_run.owner)
            self.parent_run.cancel_sent = run.cancel_sent  # how _settle reads a dead worker
            self.parent_run.timed_out = run.timed_out
            return outcome
        finally:
            shutil.rmtree(work, ignore_errors=True)

    async def _chunk_warnings(self) -> list[dict]:
        """Frame-time warnings the chunks found (each once)."""
        seen, out = set(), []
        for chunk in await self._chunks():
            for w in chunk.warnings:
                key = msgspec.json.encode(w, order="sorted")
                if key not in seen:
                    seen.add(key)
                    out.append(w)
        return out


# =============================================================================================
# Child side (the worker process; called from render_job with the draft opened)
# =============================================================================================


def child_step(session, spec: dict, cancel, send, warnings: list[dict], content_hash: str) -> dict | None:
    """Hook in ``render_job`` once the draft is resolved: the payload of a split answer, of a
    chunk or of the final join; ``None`` = render the whole job as usual."""
    mode = spec.get("mode")
    if mode == MODE_CHUNK:
        return _render_chunk(session, spec, cancel, send, warnings, content_hash)
    if mode == MODE_FINISH:
        return _join(session, spec, cancel, send, warnings, content_hash)
    return _split_plan(session, spec, warnings, content_hash)


def _split_plan(session, spec: dict, warnings: list[dict], content_hash: str) -> dict | None:
    from compositor.pipeline import chunk_ranges

    chunk_s = float(spec["spec"].get("chunk_s") or 0.0)
    if chunk_s <= 0:
        return None
    tl = session.timeline
    per_chunk = max(1, int(Fraction(chunk_s).limit_denominator(1000) * Fraction(tl.fps)))
    if session.frame_count <= per_chunk:
        return None
    ranges = chunk_ranges(session.frame_count, per_chunk)
    if len(ranges) < 2:
        return None
    return {
        "split": {"frames": session.frame_count, "ranges": [list(r) for r in ranges]},
        "warnings": warnings,
        "content_hash": content_hash,
    }


def _render_chunk(session, spec: dict, cancel, send, warnings: list[dict], content_hash: str) -> dict:
    import msgspec as _msgspec

    job_id, part = spec["job_id"], spec["chunk"]
    a, b = int(part["start_frame"]), int(part["end_frame"])
    send(("start", job_id, b - a, warnings))
    last = [0.0]

    def progress(p) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or p.frames_done == p.frames_total:
            last[0] = now
            send(("progress", job_id, p.frames_done, p.frames_total, p.elapsed_s))

    output = Path(spec["output"])
    result = session.render(output, progress=progress, cancel=cancel, frames=range(a, b))
    return {
        "result": {
            "chunk": part["index"],
            "frames": result.frames,
            "size_bytes": output.stat().st_size,
            "elapsed_s": round(result.elapsed_s, 3),
        },
        "warnings": [_msgspec.to_builtins(w) for w in result.warnings],
        "content_hash": content_hash,
    }


def _join(session, spec: dict, cancel, send, warnings: list[dict], content_hash: str) -> dict:
    import msgspec as _msgspec

    from compositor.errors import Cancelled
    from compositor.pipeline import join_chunks

    from .storage import write_poster

    job_id = spec["job_id"]
    send(("phase", job_id, "finalizing"))
    started = time.monotonic()
    output = Path(spec["output"])
    audio = Path(spec["chunk_files"][0]).parent / "audio.m4a"
    session.render_audio(audio, cancel=cancel)
    if cancel.is_set():
        raise Cancelled("cancelled while joining")
    join_chunks([Path(p) for p in spec["chunk_files"]], audio, output)
    poster = False
    try:
        poster = write_poster(output, Path(spec["poster"]))
    except Exception as exc:  # a poster is a nicety, not a failure
        logging.getLogger(__name__).warning("job %s: no poster: %s", job_id, exc)
    tl = session.timeline
    all_warnings = [_msgspec.to_builtins(w) for w in session.warnings]
    seen = {_msgspec.json.encode(w, order="sorted") for w in all_warnings}
    for w in spec.get("chunk_warnings") or []:
        if _msgspec.json.encode(w, order="sorted") not in seen:
            all_warnings.append(w)
    elapsed = time.monotonic() - started
    return {
        "result": {
            "video": output.name,
            "size_bytes": output.stat().st_size,
            "width": tl.width,
            "height": tl.height,
            "fps": f"{tl.fps.numerator}/{tl.fps.denominator}",
            "frames": tl.frame_count,
            "duration_us": tl.output_duration_us,
            "elapsed_s": round(elapsed, 3),  # the join step; the chunks' time is in their own jobs
            "realtime_factor": None,
            "poster": poster,
            "chunks": len(spec["chunk_files"]),
        },
        "warnings": all_warnings,
        "content_hash": content_hash,
    }


__all__ = ["message_fields", "after_outcome", "child_step", "chunk_job", "chunk_key", "idem_key", "MODE_CHUNK"]
