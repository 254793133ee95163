"""Renders in worker processes, supervised from the server's event loop.

Parent side (:class:`WorkerPool`, in the server process)
    ``concurrency`` slots; each owns at most one spawned worker process (``multiprocessing``
    *spawn* context: no forked event loop, sockets or SQLite handles) connected by a pipe. A
    dispatcher claims jobs from the store with a lease and hands each to a free slot. Workers
    send progress as data (phase, frames done, heartbeats); the slot turns it into store
    heartbeats — the store keeps one writer, in the server. A worker is replaced after
    ``worker_max_tasks`` jobs: it is detached from its slot before it is told to stop, so the
    next job goes to a fresh process, never to one that is exiting.

    * cancel: ``DELETE`` sets ``cancel_requested``; the slot sends ``cancel`` to the worker,
      whose render loop checks an Event every frame; if it has not stopped after
      ``cancel_grace_s`` (e.g. while downloading) it is killed.
    * crash: a worker that dies mid-job (SIGKILL, segfault in FFmpeg/Numba, OOM) closes its
      pipe; the slot sees EOF at once, fails the attempt with ``retry`` (the job is queued again
      while attempts remain) and starts a new worker. If the whole server dies instead, the
      job's lease runs out and ``requeue_expired`` re-queues it (at start-up at once: one
      server owns a data directory).
    * timeout: a render running longer than ``job_timeout_s`` is killed → ``RENDER_TIMEOUT``.
    * memory: while a job runs the slot polls the worker's resident memory (``/proc/<pid>/status``;
      ``RLIMIT_AS`` would break Numba's LLVM); over ``worker_memory_mb`` it is killed, the job
      fails with ``LIMIT_EXCEEDED`` (not retried) and a fresh worker takes the next job.

Child side (:func:`worker_main`, in the worker process)
    Downloads the draft (cache folder per get_draft endpoint, locked per draft id — the lock is
    released on every path, failures and cancels included), checks
    that every material path stays inside the draft folder or is an http(s) URL
    (``drafts.check_material_paths``), resolves the timeline and calls the compositor's
    ``DraftSession.render`` — the one render loop — then writes a poster JPEG.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable

from . import chunked
from .jobs.base import JobStore
from .jobs.model import QUEUED, RUNNING, Job
from .metrics import Metrics
from .request_limits import server_limits
from .settings import Settings
from .storage import LocalStorage

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.2  # worker → server progress messages, at most this often
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


# =============================================================================================
# Parent side
# =============================================================================================


class _Proc:
    """One worker process and the thread reading its pipe."""

    def __init__(self, pool: "WorkerPool", slot: "_Slot"):
        ctx = multiprocessing.get_context("spawn")
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        self.conn = parent_conn
        self.process = ctx.Process(
            target=worker_main,
            args=(child_conn, pool.child_config()),
            name=f"draft-render-worker-{slot.index}",
            daemon=True,
        )
        self.process.start()
        child_conn.close()  # EOF on our end = the worker is gone
        self.pid = self.process.pid
        self.ready = False
        self.alive = True
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
                msg = self.conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # a message we cannot unpickle
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

    def send(self, msg: tuple) -> bool:
        try:
            with self._send_lock:
                self.conn.send(msg)
            return True
        except (OSError, EOFError, ValueError):
            return False

    def kill(self) -> None:
        if self.alive and self.pid:
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
        self.outcome: asyncio.Future = asyncio.get_running_loop().create_future()
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

    def available(self) -> bool:
        return self.run is None and (self.task is None or self.task.done()) and time.monotonic() >= self.not_before

    # -- process management --------------------------------------------------------------------
    def ensure_proc(self) -> _Proc:
        if self.proc is None or not self.proc.alive:
            self.proc = _Proc(self.pool, self)
            if self.pool.metrics:
                self.pool.metrics.worker_starts.inc()
        return self.proc

    def on_message(self, proc: _Proc, msg: tuple) -> None:
        kind = msg[0]
        if kind == "ready":
            proc.ready = True
            return
        run = self.run
        if run is None or run.proc is not proc or msg[1] != run.job.id:
            return  # a late message of a finished job
        if kind in ("done", "error"):
            if not run.outcome.done():
                run.outcome.set_result(msg)
            return
        if kind == "phase":
            self._progress(run, {"phase": msg[2]}, force=True)
        elif kind == "start":
            run.frames_total = msg[2]
            self._progress(
                run,
                {"phase": "rendering", "frames_total": msg[2], "frames_done": 0, "progress": 0, "warnings": msg[3]},
                force=True,
            )
        elif kind == "progress":
            _, _, done, total, elapsed = msg
            pct = min(99, int(done * 100 / total)) if total else 0
            eta = round(elapsed / done * (total - done), 2) if done and total else None
            self._progress(
                run, {"frames_done": done, "frames_total": total, "progress": pct, "eta_s": eta}, force=done == total
            )
        elif kind == "hb":
            self._progress(run, {}, force=True)

    def on_exit(self, proc: _Proc, exitcode: int | None) -> None:
        proc.alive = False
        self.pool.retiring.discard(proc)
        if self.proc is proc:
            self.proc = None
        run = self.run
        if run is not None and run.proc is proc and not run.outcome.done():
            run.outcome.set_result(("died", run.job.id, exitcode))
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
                run.outcome.set_result(("lost", run.job.id))
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
        run.proc.send(("cancel", run.job.id))
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
            proc = self.ensure_proc()
            run = self.run = _Run(job, proc, self.owner)
            if not proc.send(("run", pool.job_message(job, inline))):
                run.outcome.set_result(("died", job.id, proc.process.exitcode))
            if job.cancel_requested:
                self.request_cancel()
            watchdog = (
                asyncio.get_running_loop().create_task(self._watch_memory(run)) if settings.worker_memory_mb else None
            )
            try:
                outcome = await asyncio.wait_for(asyncio.shield(run.outcome), settings.job_timeout_s)
            except asyncio.TimeoutError:
                run.timed_out = True
                proc.kill()
                outcome = await run.outcome
            finally:
                if watchdog is not None:
                    watchdog.cancel()
            if run.writer is not None and not run.writer.done():
                try:
                    await run.writer
                except Exception:
                    log.exception("job %s: progress write failed", job.id)
            proc.tasks += 1
            outcome = await chunked.after_outcome(self, run, outcome)  # chunk upload / coordinator
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
            proc = self.proc
            if proc is not None and proc.alive and proc.tasks >= settings.worker_max_tasks:
                self.retire(proc)  # the next job goes to a fresh process
            if self.proc is None and pool.accepting and time.monotonic() >= self.not_before:
                pool.warm(self)  # retired or died: keep a warm spare
            pool.wake()

    def retire(self, proc: _Proc) -> None:
        """Detach ``proc`` from the slot and let it exit once it has read ``stop``."""
        if self.proc is proc:
            self.proc = None
        self.pool.retiring.add(proc)
        proc.send(("stop",))

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

    async def _settle(self, run: _Run, outcome: tuple) -> None:
        pool, store, job = self.pool, self.pool.store, run.job
        kind = outcome[0]
        metrics = pool.metrics
        final: Job | None = None
        if kind == "done":
            result = outcome[2]
            final = await store.complete(
                job.id, run.owner, result["result"], warnings=result["warnings"], content_hash=result["content_hash"]
            )
            if metrics and final is not None:
                metrics.render_done(result["result"]["elapsed_s"], result["result"]["frames"])
        elif kind == "error":
            _, _, code, message, detail = outcome
            if code == "CANCELLED":
                final = await store.finish_cancelled(job.id, run.owner)
            else:
                final = await store.fail(job.id, run.owner, code, message, detail)
        elif kind == "died":
            exitcode = outcome[2]
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
        # "lost": another owner has the job; nothing to record
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

    def child_config(self) -> dict:
        return {"log_level": self.settings.log_level}

    def job_message(self, job: Job, inline: bytes | None) -> dict:
        from .egress import egress_spec

        st = self.storage
        return {
            "job_id": job.id,
            "draft_url": job.draft_url,
            "draft_id": job.draft_id,
            "inline_draft": inline,
            "spec": {f: getattr(job.spec, f) for f in job.spec.__struct_fields__},
            "output": str(st.video_path(job.id)),
            "poster": str(st.poster_path(job.id)),
            "cache_dir": str(st.cache_dir_for(job.draft_url)) if job.draft_url else None,
            "work_dir": str(st.work_dir(job.id)),
            "allow_local_paths": self.settings.allow_local_paths,
            "egress": egress_spec(self.settings),  # the server's egress policy and download limits
            "heartbeat_s": max(0.2, self.settings.lease_s / 3),
            "limits": server_limits(self.settings).as_dict(),
            **chunked.message_fields(job, st),  # a chunk job: its frame range and private paths
        }

    def workers_alive(self) -> int:
        return sum(1 for s in self.slots if s.proc is not None and s.proc.alive)

    def busy(self) -> int:
        return sum(1 for s in self.slots if s.run is not None)

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
            import shutil

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
                proc.send(("stop",))
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
            for slot in self.slots:
                if slot.run is not None and slot.run.job.id == job.id:
                    slot.request_cancel()

    def cancel_running(self, job_id: str) -> None:
        for slot in self.slots:
            if slot.run is not None and slot.run.job.id == job_id:
                slot.request_cancel()

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


# =============================================================================================
# Child side (runs in the spawned worker process)
# =============================================================================================


def _set_parent_death_signal() -> None:
    """Linux: die with the server (PR_SET_PDEATHSIG) so no orphan keeps rendering."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def worker_main(conn, config: dict) -> None:
    """Entry point of a worker process."""
    _set_parent_death_signal()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when we stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    logging.basicConfig(
        level=config.get("log_level", "INFO"),
        format="%(asctime)s worker[%(process)d] %(levelname)s %(name)s: %(message)s",
    )
    _Child(conn).serve()


class _Child:
    def __init__(self, conn):
        import queue

        self.conn = conn
        self.jobs: "queue.SimpleQueue[dict | None]" = queue.SimpleQueue()
        self.cancels: dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        self.text_engine = None  # made on the first draft with text, then reused

    def send(self, msg: tuple) -> None:
        with self.lock:
            try:
                self.conn.send(msg)
            except (OSError, EOFError, ValueError):
                os._exit(0)  # the server is gone

    def _read(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # the server is gone: stop at once
            if msg[0] == "run":
                self.cancels.setdefault(msg[1]["job_id"], threading.Event())
                self.jobs.put(msg[1])
            elif msg[0] == "cancel":
                self.cancels.setdefault(msg[1], threading.Event()).set()
            elif msg[0] == "stop":
                self.jobs.put(None)

    def serve(self) -> None:
        # import the heavy parts before saying we are ready
        import compositor.pipeline  # noqa: F401  (preload)

        threading.Thread(target=self._read, daemon=True, name="pipe-reader").start()
        self.send(("ready", os.getpid()))
        while True:
            spec = self.jobs.get()
            if spec is None:
                break
            try:
                self.run_job(spec)
            finally:
                self.cancels.pop(spec["job_id"], None)
        self.conn.close()

    def run_job(self, spec: dict) -> None:
        job_id = spec["job_id"]
        cancel = self.cancels.setdefault(job_id, threading.Event())
        stop_hb = threading.Event()

        def heartbeat() -> None:
            while not stop_hb.wait(spec["heartbeat_s"]):
                self.send(("hb", job_id))

        threading.Thread(target=heartbeat, daemon=True, name="heartbeat").start()
        try:
            payload = render_job(spec, cancel, lambda msg: self.send(msg), engines=self)
            self.send(("done", job_id, payload))
        except BaseException as exc:  # noqa: BLE001 - every failure is reported as data
            code, message, detail = _describe(exc)
            if code not in ("CANCELLED",):
                logging.getLogger(__name__).info("job %s failed: %s %s", job_id, code, message)
            self.send(("error", job_id, code, message, detail))
        finally:
            stop_hb.set()


def _describe(exc: BaseException) -> tuple[str, str, dict]:
    from compositor.errors import CompositorError

    if isinstance(exc, CompositorError):
        detail = exc.detail() or {}
        return exc.code, str(exc), {k: v for k, v in detail.items() if isinstance(v, (str, int, float, type(None)))}
    return "RENDER_FAILED", f"{type(exc).__name__}: {exc}", {"exception": type(exc).__name__}


async def _cancellable(coro, cancel: threading.Event):
    from compositor.errors import Cancelled

    task = asyncio.ensure_future(coro)
    while not task.done():
        await asyncio.wait({task}, timeout=0.1)
        if cancel.is_set() and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            raise Cancelled("cancelled while downloading")
    return task.result()


def render_job(spec: dict, cancel: threading.Event, send, engines=None) -> dict:
    """Fetch, check, render and poster one job; returns the result payload. Raises on failure.

    ``engines`` (the worker) keeps a text engine across jobs: ``engines.text_engine``."""
    import contextlib
    import hashlib
    from fractions import Fraction

    import msgspec

    from compositor.budgets import Limits
    from compositor.draft import parse_draft
    from compositor.errors import Cancelled, DraftNotFound
    from compositor.fetch import LocalDraft, fetch_draft
    from compositor.paths import is_valid_draft_id
    from compositor.pipeline import Progress, RenderOptions, open_local

    from .draft_lock import DraftLock
    from .drafts import check_material_paths
    from .egress import from_egress_spec
    from .storage import write_poster

    job_id = spec["job_id"]
    s = spec["spec"]
    egress, fetch_limits = from_egress_spec(spec["egress"])

    def check_cancel() -> None:
        if cancel.is_set():
            raise Cancelled("cancelled")

    send(("phase", job_id, "downloading"))
    with contextlib.ExitStack() as held:  # the draft lock is released on every path
        if spec["inline_draft"] is not None:
            work = Path(spec["work_dir"])
            work.mkdir(parents=True, exist_ok=True)
            content = work / "draft_content.json"
            content.write_bytes(spec["inline_draft"])
            local = LocalDraft(None, work, content, "inline")
        else:
            url = spec["draft_url"]
            if url.lower().startswith(("http://", "https://")):
                draft_id = spec["draft_id"]
                if not is_valid_draft_id(draft_id):
                    raise DraftNotFound("the draft_id is not 1 to 128 letters, digits, '-' or '_'", url)
                cache = Path(spec["cache_dir"])
                held.enter_context(DraftLock(cache, draft_id))
                local = asyncio.run(_cancellable(fetch_draft(url, cache, policy=egress, limits=fetch_limits), cancel))
                with contextlib.suppress(OSError):
                    os.utime(local.folder)  # "recently used" for the cache sweep
            else:  # trusted setups only (allow_local_paths)
                local = asyncio.run(fetch_draft(url, Path(spec["work_dir"])))
        check_cancel()
        raw = local.content_path.read_bytes()
        content_hash = hashlib.sha256(raw).hexdigest()
        send(("phase", job_id, "probing"))
        limits = Limits(**spec["limits"], naming="server")
        draft = parse_draft(raw, max_depth=limits.max_json_depth)
        local = check_material_paths(draft, local, allow_local_paths=spec["allow_local_paths"])
        fps = Fraction(s["fps"]) if s.get("fps") else None
        options = RenderOptions(
            width=s.get("width"),
            height=s.get("height"),
            fps=fps,
            start_us=s.get("start_us"),
            end_us=s.get("end_us"),
            crf=s["crf"],
            preset=s["preset"],
            threads=s.get("threads", 0),
            limits=limits,
            egress=egress,
            fetch_limits=fetch_limits,
        )
        if engines is not None and engines.text_engine is None and any(t.type == "text" for t in draft.tracks):
            from compositor.text import default_engine

            engines.text_engine = default_engine()
        session = open_local(local, options, text_engine=engines.text_engine if engines is not None else None)
        check_cancel()
        warnings = [msgspec.to_builtins(w) for w in session.warnings]
        step = chunked.child_step(session, spec, cancel, send, warnings, content_hash)  # split / chunk / join
        if step is not None:
            return step
        send(("start", job_id, session.frame_count, warnings))
        last = [0.0]

        def progress(p: Progress) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S or p.frames_done == p.frames_total:
                last[0] = now
                send(("progress", job_id, p.frames_done, p.frames_total, p.elapsed_s))

        output = Path(spec["output"])
        result = session.render(output, progress=progress, cancel=cancel)
    send(("phase", job_id, "finalizing"))
    poster = False
    try:
        poster = write_poster(output, Path(spec["poster"]))
    except Exception as exc:  # a poster is a nicety, not a failure
        logging.getLogger(__name__).warning("job %s: no poster: %s", job_id, exc)
    return {
        "result": {
            "video": output.name,
            "size_bytes": output.stat().st_size,
            "width": result.width,
            "height": result.height,
            "fps": f"{result.fps.numerator}/{result.fps.denominator}",
            "frames": result.frames,
            "duration_us": result.duration_us,
            "elapsed_s": round(result.elapsed_s, 3),
            "realtime_factor": round(result.realtime_factor, 3) if result.elapsed_s > 0 else None,
            "poster": poster,
        },
        "warnings": [msgspec.to_builtins(w) for w in result.warnings],  # + frame-time ones
        "content_hash": content_hash,
    }


__all__ = ["WorkerPool", "worker_main", "render_job"]
