"""The worker process: its entry point and main loop (runs in the spawned process; I/O: the pipe).

:func:`worker_main` is the ``multiprocessing`` target. The process dies with its parent
(``PR_SET_PDEATHSIG``), ignores SIGINT (the server decides when it stops), imports the
compositor before it says :class:`~server.worker.protocol.Ready`, then runs one job at a time
from its queue with :func:`server.worker.job.render_job`. A reader thread takes messages off the
pipe while a job runs, so :class:`~server.worker.protocol.Cancel` sets the job's cancel Event at
once (the render loop checks it every frame). A heartbeat thread sends
:class:`~server.worker.protocol.Heartbeat` every ``heartbeat_s`` while a job runs. Every failure
is reported as data (:class:`~server.worker.protocol.Error` with a stable code); if the pipe
breaks, the server is gone and the process exits at once.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
from multiprocessing.connection import Connection

import msgspec

from compositor.malloc_tuning import fix_mmap_threshold

from .job import render_job
from .protocol import (
    ChildConfig,
    Codec,
    Cancel,
    Done,
    Error,
    Heartbeat,
    JobSpec,
    Ready,
    Run,
    Split,
    SplitPlan,
    Stop,
    ToParent,
)

log = logging.getLogger(__name__)


def _set_parent_death_signal() -> None:
    """Linux: die with the server (PR_SET_PDEATHSIG) so no orphan keeps rendering."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def worker_main(conn: Connection, config: bytes) -> None:
    """Entry point of a worker process (``config``: a msgpack-encoded :class:`ChildConfig`)."""
    _set_parent_death_signal()
    fix_mmap_threshold()  # a render process: freed frame buffers go back to the OS
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when we stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    cfg = msgspec.msgpack.decode(config, type=ChildConfig)
    logging.basicConfig(
        level=cfg.log_level.upper(),
        format="%(asctime)s worker[%(process)d] %(levelname)s %(name)s: %(message)s",
    )
    Child(conn).serve()


def describe(exc: BaseException) -> tuple[str, str, dict]:
    """(stable code, message, JSON-safe detail) of a job's exception."""
    from compositor.errors import CompositorError

    if isinstance(exc, CompositorError):
        detail = exc.detail() or {}
        return exc.code, str(exc), {k: v for k, v in detail.items() if isinstance(v, (str, int, float, type(None)))}
    return "RENDER_FAILED", f"{type(exc).__name__}: {exc}", {"exception": type(exc).__name__}


class Child:
    """The main loop of one worker process."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.codec = Codec()
        self.jobs: "queue.SimpleQueue[JobSpec | None]" = queue.SimpleQueue()
        self.cancels: dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        self.text_engine = None  # made on the first draft with text, then reused

    def send(self, msg: ToParent) -> None:
        with self.lock:  # the render thread and the heartbeat thread both send
            try:
                self.conn.send_bytes(self.codec.encode(msg))
            except (OSError, EOFError, ValueError):
                os._exit(0)  # the server is gone

    def _read(self) -> None:
        while True:
            try:
                raw = self.conn.recv_bytes()
            except (EOFError, OSError):
                os._exit(0)  # the server is gone: stop at once
            try:
                msg = self.codec.decode_to_child(raw)
            except msgspec.DecodeError:
                log.exception("bad message from the server")
                continue
            if isinstance(msg, Run):
                self.cancels.setdefault(msg.job.job_id, threading.Event())
                self.jobs.put(msg.job)
            elif isinstance(msg, Cancel):
                self.cancels.setdefault(msg.job_id, threading.Event()).set()
            elif isinstance(msg, Stop):
                self.jobs.put(None)

    def serve(self) -> None:
        # import the heavy parts before saying we are ready
        import compositor.pipeline  # noqa: F401  (preload)

        threading.Thread(target=self._read, daemon=True, name="pipe-reader").start()
        self.send(Ready(os.getpid()))
        while True:
            job = self.jobs.get()
            if job is None:
                break
            try:
                self.run_job(job)
            finally:
                self.cancels.pop(job.job_id, None)
        self.conn.close()

    def run_job(self, job: JobSpec) -> None:
        job_id = job.job_id
        cancel = self.cancels.setdefault(job_id, threading.Event())
        stop_hb = threading.Event()

        def heartbeat() -> None:
            while not stop_hb.wait(job.heartbeat_s):
                self.send(Heartbeat(job_id))

        threading.Thread(target=heartbeat, daemon=True, name="heartbeat").start()
        try:
            payload = render_job(job, cancel, self.send, engines=self)
            self.send(Split(job_id, payload) if isinstance(payload, SplitPlan) else Done(job_id, payload))
        except BaseException as exc:  # noqa: BLE001 - every failure is reported as data
            code, message, detail = describe(exc)
            if code != "CANCELLED":
                log.info("job %s failed: %s %s", job_id, code, message)
            self.send(Error(job_id, code, message, detail))
        finally:
            stop_hb.set()


__all__ = ["worker_main", "describe", "Child"]
