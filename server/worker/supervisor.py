"""The supervisor: worker processes run from the server's event loop (I/O: processes, the store).

:class:`WorkerPool` has ``concurrency`` slots; each owns at most one spawned worker process
(``multiprocessing`` *spawn* context: no forked event loop, sockets or SQLite handles) connected
by a pipe that carries :mod:`server.worker.protocol` messages (msgpack). A dispatcher claims jobs
from the store with a lease and hands each to a free slot. Workers send progress as data (phase,
frames done, heartbeats); the slot turns it into store heartbeats — the store keeps one writer
per process, here. A worker is replaced after ``worker_max_tasks`` jobs: it is detached from its
slot before it is told to stop, so the next job goes to a fresh process, never to one that is
exiting.

* cancel: ``DELETE`` sets ``cancel_requested``; the slot sends :class:`Cancel` to the worker,
  whose render loop checks an Event every frame; if it has not stopped after
  ``cancel_grace_s`` (e.g. while downloading) it is killed. A slot also learns of a cancel from
  its own heartbeat's answer (the job record), so a cancel made on another node arrives too.
* crash: a worker that dies mid-job (SIGKILL, segfault in FFmpeg/Numba, OOM) closes its
  pipe; the slot sees EOF at once, fails the attempt with ``retry`` (the job is queued again
  while attempts remain) and starts a new worker. If the whole node dies instead, the
  job's lease runs out and ``requeue_expired`` re-queues it.
* timeout: a render running longer than ``job_timeout_s`` is killed → ``RENDER_TIMEOUT``.
* memory: while a job runs the slot polls the worker's resident memory (``/proc/<pid>/status``;
  ``RLIMIT_AS`` would break Numba's LLVM); over ``worker_memory_mb`` it is killed, the job
  fails with ``LIMIT_EXCEEDED`` (not retried) and a fresh worker takes the next job.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import shutil
import signal
import threading
import time
from typing import Any, Callable

import msgspec

from ..egress import egress_spec
from ..jobs.base import JobStore
from ..jobs.model import QUEUED, RUNNING, Job
from ..metrics import Metrics
from ..request_limits import server_limits
from ..settings import Settings
from ..storage import LocalStorage
from . import coordinator
from .child import worker_main
from .protocol import (
    Cancel,
    ChildConfig,
    Codec,
    Died,
    Done,
    EgressSpec,
    Error,
    Heartbeat,
    JobSpec,
    Lost,
    Outcome,
    Phase,
    Progress,
    Ready,
    Run,
    Split,
    Start,
    Stop,
    ToChild,
    ToParent,
)

log = logging.getLogger(__name__)

STORE_PROGRESS_EVERY_S = 0.25  # server → store progress writes per job, at most this often
MEMORY_POLL_S = 0.25  # worker resident-memory checks while a job runs


def read_rss_bytes(pid: int) -> int | None:
    """Resident memory of process ``pid`` (``VmRSS`` of ``/proc/<pid>/status``), None if unknown."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class _Proc:
    """One worker process and the thread reading its pipe."""

    def __init__(self, pool: "WorkerPool", slot: "_Slot"):
        ctx = multiprocessing.get_context("spawn")
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        self.conn = parent_conn
        self.codec = Codec()
        self.process = ctx.Process(
            target=worker_main,
            args=(child_conn, pool.child_config()),
            name=f"draft-render-worker-{slot.index}",
            daemon=True,
        )
        self.process.start()
        child_conn.close()  # EOF on our end = the worker is gone
        self.pid: int = self.process.pid or 0  # set once started
        self.ready = False
        self.alive = True
        #: sent SIGKILL: never given another job, even before its exit is seen
        self.killed = False
        self.tasks = 0
        self._send_lock = threading.Lock()
        loop = pool.loop
        self.reader = threading.Thread(
            target=self._read, args=(loop, slot), daemon=True, name=f"worker-pipe-{slot.index}"
        )
        self.reader.start()

    def _read(self, loop: asyncio.AbstractEventLoop, slot: "_Slot") -> None:
        while True:
            try:
                raw = self.conn.recv_bytes()
            except (EOFError, OSError):
                break
            try:
                msg = self.codec.decode_to_parent(raw)
            except msgspec.DecodeError:  # not a message of the protocol
                log.exception("bad message from worker %s", self.pid)
                continue
            try:
                loop.call_soon_threadsafe(slot.on_message, self, msg)
            except RuntimeError:  # loop closed
                return
        self.process.join(timeout=10)
        try:
            loop.call_soon_threadsafe(slot.on_exit, self, self.process.exitcode)
        except RuntimeError:
            pass

    def send(self, msg: ToChild) -> bool:
        raw = self.codec.encode(msg)
        try:
            with self._send_lock:
                self.conn.send_bytes(raw)
            return True
        except (OSError, EOFError, ValueError):
            return False

    def kill(self) -> None:
        if self.alive and self.pid:
            self.killed = True
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class _Run:
    """Book-keeping of one job on one slot."""

    def __init__(self, job: Job, proc: _Proc, owner: str):
        self.job = job
        self.proc = proc
        self.owner = owner
        self.outcome: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.started = time.monotonic()
        self.cancel_sent = False
        self.timed_out = False
        self.frames_total = 0
        self.last_store_write = 0.0
        self.pending: dict[str, Any] = {}
        self.writer: asyncio.Task | None = None
        self.memory_bytes: int | None = None  # set when the worker went over worker_memory_mb


class _Slot:
    def __init__(self, pool: "WorkerPool", index: int):
        self.pool = pool
        self.index = index
        self.owner = f"{pool.instance_id}:{index}"
        self.proc: _Proc | None = None
        self.run: _Run | None = None
        self.task: asyncio.Task | None = None
        #: workers that died before saying "ready" in a row (a broken install must not spin)
        self.start_failures = 0
        self.not_before = 0.0  # monotonic time before which no job is given
        #: the chunked render this slot coordinates (``server.worker.coordinator``), if any
        self.coordinator: coordinator.Coordinator | None = None

    def available(self) -> bool:
        return self.run is None and (self.task is None or self.task.done()) and time.monotonic() >= self.not_before

    # -- process management --------------------------------------------------------------------
    def ensure_proc(self) -> _Proc:
        if self.proc is None or not self.proc.alive or self.proc.killed:
            self.proc = _Proc(self.pool, self)
            if self.pool.metrics:
                self.pool.metrics.worker_starts.inc()
        return self.proc

    def on_message(self, proc: _Proc, msg: ToParent) -> None:
        if isinstance(msg, Ready):
            proc.ready = True
            return
        run = self.run
        if run is None or run.proc is not proc or msg.job_id != run.job.id:
            return  # a late message of a finished job
        if isinstance(msg, (Done, Split, Error)):
            if not run.outcome.done():
                run.outcome.set_result(msg)
        elif isinstance(msg, Phase):
            self._progress(run, {"phase": msg.phase}, force=True)
        elif isinstance(msg, Start):
            run.frames_total = msg.frames_total
            self._progress(
                run,
                {
                    "phase": "rendering",
                    "frames_total": msg.frames_total,
                    "frames_done": 0,
                    "progress": 0,
                    "warnings": msg.warnings,
                },
                force=True,
            )
        elif isinstance(msg, Progress):
            done, total = msg.frames_done, msg.frames_total
            pct = min(99, int(done * 100 / total)) if total else 0
            eta = round(msg.elapsed_s / done * (total - done), 2) if done and total else None
            self._progress(
                run, {"frames_done": done, "frames_total": total, "progress": pct, "eta_s": eta}, force=done == total
            )
        elif isinstance(msg, Heartbeat):
            self._progress(run, {}, force=True)

    def on_exit(self, proc: _Proc, exitcode: int | None) -> None:
        proc.alive = False
        self.pool.retiring.discard(proc)
        if self.proc is proc:
            self.proc = None
        run = self.run
        if run is not None and run.proc is proc and not run.outcome.done():
            run.outcome.set_result(Died(run.job.id, exitcode))
        if self.pool.metrics:
            self.pool.metrics.workers_alive.set(self.pool.workers_alive())
        delay = 0.0
        if proc.ready:
            self.start_failures = 0
        else:
            self.start_failures += 1
            delay = min(30.0, 0.5 * 2**self.start_failures)
            self.not_before = time.monotonic() + delay
            log.error(
                "worker %s exited with code %s before it was ready; next start in %.1fs", proc.pid, exitcode, delay
            )
        if self.run is None and self.pool.accepting:
            if delay:
                asyncio.get_running_loop().call_later(delay, self._warm_later)
            else:
                self.pool.warm(self)

    def _warm_later(self) -> None:
        if self.run is None and self.proc is None and self.pool.accepting:
            self.pool.warm(self)
        self.pool.wake()

    # -- progress → store ------------------------------------------------------------------------
    def _progress(self, run: _Run, fields: dict, *, force: bool) -> None:
        run.pending.update(fields)
        now = time.monotonic()
        if not force and now - run.last_store_write < STORE_PROGRESS_EVERY_S:
            return
        if run.writer is None or run.writer.done():
            run.writer = asyncio.get_running_loop().create_task(self._flush(run))

    async def _flush(self, run: _Run) -> None:
        store, lease = self.pool.store, self.pool.settings.lease_s
        while not run.outcome.done():
            fields, run.pending = run.pending, {}
            run.last_store_write = time.monotonic()
            try:
                job = await store.heartbeat(run.job.id, run.owner, lease, **fields)
            except Exception:
                log.exception("job %s: progress write failed", run.job.id)
                return
            if run.outcome.done():
                return
            if job is None:  # lease lost: someone else runs it now
                log.warning("job %s: lease lost, stopping its worker", run.job.id)
                run.outcome.set_result(Lost(run.job.id))
                run.proc.kill()
                return
            run.job = job
            if job.cancel_requested:
                self.request_cancel()
            if not run.pending:
                return

    # -- cancel ----------------------------------------------------------------------------------
    def request_cancel(self) -> None:
        run = self.run
        if run is None or run.cancel_sent:
            return
        run.cancel_sent = True
        run.proc.send(Cancel(run.job.id))
        loop = asyncio.get_running_loop()
        loop.call_later(self.pool.settings.cancel_grace_s, self._kill_if_still, run)

    def _kill_if_still(self, run: _Run) -> None:
        if self.run is run and not run.outcome.done():
            log.info(
                "job %s: worker did not stop within %.1fs of cancel; killing it",
                run.job.id,
                self.pool.settings.cancel_grace_s,
            )
            run.proc.kill()

    # -- one job ---------------------------------------------------------------------------------
    async def execute(self, job: Job) -> None:
        pool = self.pool
        store, settings = pool.store, pool.settings
        try:
            inline = await store.get_inline_draft(job.id) if job.has_inline_draft else None
            run, outcome = await self.run_once(job, pool.job_message(job, inline), self.owner)
            outcome = await coordinator.after_outcome(self, run, outcome)  # chunk upload / chunked render
            await self._settle(run, outcome)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s: supervisor error", job.id)
            try:
                await store.fail(
                    job.id,
                    self.owner,
                    "RENDER_FAILED",
                    "internal error while supervising the render",
                    {"reason": "supervisor"},
                    retry=True,
                )
            except Exception:
                log.exception("job %s: could not record the failure", job.id)
        finally:
            self.run = None
            pool.jobs_changed()
            current = self.proc
            if current is not None and current.alive and current.tasks >= settings.worker_max_tasks:
                self.retire(current)  # the next job goes to a fresh process
            if self.proc is None and pool.accepting and time.monotonic() >= self.not_before:
                pool.warm(self)  # retired or died: keep a warm spare
            pool.wake()

    async def run_once(self, job: Job, message: JobSpec, owner: str) -> tuple[_Run, Outcome]:
        """Run ``message`` on this slot's worker process as ``job`` held by ``owner``: the job
        timeout, the memory ceiling, progress → store; returns the run and its outcome (the
        chunk coordinator runs its chunks and the join through this too)."""
        pool, settings = self.pool, self.pool.settings
        proc = self.ensure_proc()
        run = self.run = _Run(job, proc, owner)
        pool.jobs_changed()
        if not proc.send(Run(message)):
            run.outcome.set_result(Died(job.id, proc.process.exitcode))
        if job.cancel_requested:
            self.request_cancel()
        watchdog = (
            asyncio.get_running_loop().create_task(self._watch_memory(run)) if settings.worker_memory_mb else None
        )
        starting = None if proc.ready else asyncio.get_running_loop().create_task(self._hold_lease_while_starting(run))
        try:
            outcome = await asyncio.wait_for(asyncio.shield(run.outcome), settings.job_timeout_s)
        except asyncio.TimeoutError:
            run.timed_out = True
            proc.kill()
            outcome = await run.outcome
        finally:
            if watchdog is not None:
                watchdog.cancel()
            if starting is not None:
                starting.cancel()
        if run.writer is not None and not run.writer.done():
            try:
                await run.writer
            except Exception:
                log.exception("job %s: progress write failed", job.id)
        proc.tasks += 1
        return run, outcome

    def retire(self, proc: _Proc) -> None:
        """Detach ``proc`` from the slot and let it exit once it has read ``stop``."""
        if self.proc is proc:
            self.proc = None
        self.pool.retiring.add(proc)
        proc.send(Stop())

    async def _hold_lease_while_starting(self, run: _Run) -> None:
        """Heart-beat for a worker that is still importing (it reads no message and sends no
        heartbeat before it is ready; on a loaded machine that can take longer than a lease). A
        process that dies is seen at once (EOF) and one that never gets ready hits job_timeout_s."""
        interval = max(0.2, self.pool.settings.lease_s / 3)
        while not run.proc.ready and not run.outcome.done():
            self._progress(run, {}, force=True)
            await asyncio.sleep(interval)

    async def _watch_memory(self, run: _Run) -> None:
        pool = self.pool
        ceiling = pool.settings.worker_memory_mb * 1024 * 1024
        while not run.outcome.done():
            rss = pool.rss_reader(run.proc.pid)
            if rss is not None and rss > ceiling:
                run.memory_bytes = rss
                log.warning(
                    "job %s: worker %s uses %d MiB, over worker_memory_mb = %d; killing it",
                    run.job.id,
                    run.proc.pid,
                    rss // 2**20,
                    pool.settings.worker_memory_mb,
                )
                run.proc.kill()
                return
            await asyncio.sleep(MEMORY_POLL_S)

    async def _settle(self, run: _Run, outcome: Outcome) -> None:
        pool, store, job = self.pool, self.pool.store, run.job
        metrics = pool.metrics
        final: Job | None = None
        if isinstance(outcome, Done):
            payload = outcome.payload
            final = await store.complete(
                job.id, run.owner, payload.result, warnings=payload.warnings, content_hash=payload.content_hash
            )
            if metrics and final is not None:
                metrics.render_done(payload.result["elapsed_s"], payload.result["frames"])
        elif isinstance(outcome, Error):
            if outcome.code == "CANCELLED":
                final = await store.finish_cancelled(job.id, run.owner)
            else:
                final = await store.fail(job.id, run.owner, outcome.code, outcome.message, outcome.detail)
        elif isinstance(outcome, Died):
            exitcode = outcome.exitcode
            if run.cancel_sent:
                final = await store.finish_cancelled(job.id, run.owner)
            elif run.memory_bytes is not None:
                mb, limit = run.memory_bytes // 2**20, pool.settings.worker_memory_mb
                setting = "--worker-memory-mb / DRAFT_SERVER_WORKER_MEMORY_MB"
                final = await store.fail(
                    job.id,
                    run.owner,
                    "LIMIT_EXCEEDED",
                    f"worker memory is {mb} MiB, over the limit worker_memory_mb = {limit} (setting {setting})",
                    {"limit": "worker_memory_mb", "value": mb, "bound": limit, "setting": setting},
                )
            elif run.timed_out:
                final = await store.fail(
                    job.id,
                    run.owner,
                    "RENDER_TIMEOUT",
                    f"the render ran longer than {pool.settings.job_timeout_s:g} s",
                    {"timeout_s": pool.settings.job_timeout_s},
                )
            else:
                if metrics:
                    metrics.worker_crashes.inc()
                log.warning(
                    "job %s: worker %s died (exit code %s); attempt %d of %d",
                    job.id,
                    run.proc.pid,
                    exitcode,
                    job.attempts,
                    job.max_attempts,
                )
                final = await store.fail(
                    job.id,
                    run.owner,
                    "RENDER_FAILED",
                    f"the worker process died (exit code {exitcode})",
                    {"reason": "worker_died", "exitcode": exitcode},
                    retry=True,
                )
        # Lost: another owner has the job; nothing to record
        if final is not None and final.terminal:
            pool.cleanup_after(final)


class WorkerPool:
    """See the module docstring."""

    def __init__(
        self,
        settings: Settings,
        store: JobStore,
        storage: LocalStorage,
        *,
        metrics: Metrics | None = None,
        instance_id: str,
        rss_reader: Callable[[int], int | None] = read_rss_bytes,
    ):
        self.settings = settings
        #: resident bytes of a worker pid (injectable for tests)
        self.rss_reader = rss_reader
        #: workers past worker_max_tasks, told to stop, no longer in a slot
        self.retiring: set[_Proc] = set()
        self.store = store
        self.storage = storage
        self.metrics = metrics
        self.instance_id = instance_id
        self.slots = [_Slot(self, i) for i in range(settings.concurrency)]
        self.loop: asyncio.AbstractEventLoop | None = None
        self.accepting = False
        self._wake_event: asyncio.Event | None = None
        self._dispatcher: asyncio.Task | None = None
        self._jobs_listeners: list[Callable[[], None]] = []

    def child_config(self) -> bytes:
        return msgspec.msgpack.encode(ChildConfig(log_level=self.settings.log_level))

    def job_message(self, job: Job, inline: bytes | None) -> JobSpec:
        st = self.storage
        message = JobSpec(
            job_id=job.id,
            spec=job.spec,
            draft_url=job.draft_url,
            draft_id=job.draft_id,
            inline_draft=inline,
            output=str(st.video_path(job.id)),
            poster=str(st.poster_path(job.id)),
            cache_dir=str(st.cache_dir_for(job.draft_url)) if job.draft_url else None,
            work_dir=str(st.work_dir(job.id)),
            storage=st.worker_spec(),  # put_output / shared drafts in the worker
            allow_local_paths=self.settings.allow_local_paths,
            # the server's egress policy and download limits
            egress=msgspec.convert(egress_spec(self.settings), EgressSpec),
            heartbeat_s=max(0.2, self.settings.lease_s / 3),
            limits=server_limits(self.settings).as_dict(),
        )
        return coordinator.chunk_message(job, st, message)  # a chunk job: its frame range, private paths

    def workers_alive(self) -> int:
        return sum(1 for s in self.slots if s.proc is not None and s.proc.alive)

    def busy(self) -> int:
        return sum(1 for s in self.slots if s.run is not None)

    def running_job_ids(self) -> list[str]:
        return [s.run.job.id for s in self.slots if s.run is not None]

    def add_jobs_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` when a slot starts or ends a job (the node registry re-registers)."""
        self._jobs_listeners.append(listener)

    def jobs_changed(self) -> None:
        for listener in self._jobs_listeners:
            try:
                listener()
            except Exception:
                log.exception("jobs listener failed")

    def wake(self) -> None:
        if self._wake_event is not None:
            self._wake_event.set()

    def warm(self, slot: _Slot) -> None:
        try:
            slot.ensure_proc()
        except Exception:
            log.exception("could not start a worker process")
        if self.metrics:
            self.metrics.workers_alive.set(self.workers_alive())

    def cleanup_after(self, job: Job) -> None:
        if job.has_inline_draft:
            shutil.rmtree(self.storage.work_dir(job.id), ignore_errors=True)

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._wake_event = asyncio.Event()
        self.accepting = True
        self.store.add_listener(self._on_change)
        for slot in self.slots:
            self.warm(slot)
        if self.slots:
            self._dispatcher = self.loop.create_task(self._dispatch(), name="render-dispatcher")

    async def stop(self) -> None:
        self.accepting = False
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            try:
                await self._dispatcher
            except asyncio.CancelledError:
                pass
        runs = [slot.run for slot in self.slots if slot.run is not None]
        tasks = [s.task for s in self.slots if s.task is not None and not s.task.done()]
        for t in tasks:  # no outcome is recorded for these runs...
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for run in runs:  # ...they go back to the queue instead
            run.proc.kill()
            try:
                await self.store.release(run.job.id, run.owner)
            except Exception:
                log.exception("job %s: could not release", run.job.id)
        for slot in self.slots:
            proc = slot.proc
            if proc is not None and proc.alive:
                proc.send(Stop())
        deadline = time.monotonic() + 3.0
        for proc in [slot.proc for slot in self.slots] + list(self.retiring):
            if proc is None:
                continue
            while proc.process.is_alive() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            if proc.process.is_alive():
                proc.kill()
            proc.conn.close()

    def _on_change(self, job: Job) -> None:
        if job.state == QUEUED:
            self.wake()
        elif job.state == RUNNING and job.cancel_requested:
            self.cancel_running(job.id)

    def cancel_running(self, job_id: str) -> None:
        for slot in self.slots:
            if slot.run is not None and slot.run.job.id == job_id:
                slot.request_cancel()
            elif slot.coordinator is not None and slot.coordinator.job.id == job_id:
                slot.coordinator.request_cancel()  # a chunked render: its chunks are cancelled

    async def _dispatch(self) -> None:
        assert self._wake_event is not None
        while True:
            self._wake_event.clear()
            free = [s for s in self.slots if s.available()]
            claimed = False
            for slot in free:
                try:
                    job = await self.store.claim(slot.owner, self.settings.lease_s)
                except Exception:
                    log.exception("claim failed")
                    job = None
                if job is None:
                    break
                claimed = True
                slot.task = asyncio.get_running_loop().create_task(slot.execute(job), name=f"render-{job.id}")
            if claimed:
                continue  # maybe more free slots and more jobs
            try:
                await asyncio.wait_for(self._wake_event.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                pass
