"""Run an iterator on its own thread at a lower CPU priority (I/O: a thread, ``setpriority``).

Why: x264's frame threads cannot keep two cores busy on their own (measured: x264 alone
uses about 1.7 of the project's 2 cores), and each output frame must pass through them in
order. When the compositor competes with them at the same priority, the scheduler slices
the cores evenly and delays x264's critical path, which the encoder never makes up.
Running the render loop (compositing, audio, submitting frames) on a thread whose nice
value is higher lets x264 run first and fills the cycles it leaves; the encoder's bounded
queue keeps the loop from falling behind (``docs/performance.md``: the 60-s photo short
renders 0–16 % faster, about 10 % typically, with the same bytes). :meth:`DraftSession.render
<compositor.pipeline.DraftSession.render>` runs its loop in one and hands the progress
reports back to the caller's thread.

:class:`NicedProducer` ``(make, nice=…)`` calls ``make()`` on a new thread, after raising that
thread's nice value by ``nice`` (Linux only: there a thread's priority is its own; the
caller's thread is never changed). Items come back to the caller's thread through a bounded
queue; an exception raised by the iterator is raised on the caller's thread instead of the
next item. :meth:`close` stops the producer and closes the iterator on its own thread
(``finally`` blocks run where they were entered: decoders opened there are closed there),
and waits for it; the caller has stopped for a reason of its own then, so an exception the
iterator raises while being closed is not raised again. Threads the producer starts
inherit its priority.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["NicedProducer", "lower_thread_priority"]

T = TypeVar("T")

_POLL_S = 0.05
_MAX_NICE = 19
_END = object()


def lower_thread_priority(increment: int) -> bool:
    """Raise the *calling thread's* nice value by ``increment`` (capped at 19); False when
    nothing changed: not Linux (Linux gives each thread its own nice value; elsewhere
    ``setpriority`` would change the whole process), ``increment`` ≤ 0, already at the cap,
    or the system refused (a sandbox without ``setpriority``: the render runs at the
    caller's priority, as it would with ``increment`` 0)."""
    if increment <= 0 or not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        target = min(_MAX_NICE, current + int(increment))
        if target == current:
            return False
        os.setpriority(os.PRIO_PROCESS, tid, target)
    except OSError:
        return False
    return True


class _Raised:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException):
        self.exc = exc


class NicedProducer(Generic[T]):
    """Items of ``make()``, produced on a thread ``nice`` steps below the caller's priority;
    see the module doc. Use as a context manager (or call :meth:`close`)."""

    def __init__(self, make: Callable[[], Iterator[T]], *, nice: int, name: str, depth: int = 1):
        self._q: queue.Queue = queue.Queue(maxsize=max(1, int(depth)))
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, args=(make, int(nice)), name=name, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ producer thread

    def _run(self, make: Callable[[], Iterator[T]], nice: int) -> None:
        try:
            lower_thread_priority(nice)
            items = make()
            try:
                for item in items:
                    if not self._put(item):
                        return
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # handed to the caller's thread, raised there
            self._put(_Raised(exc))
            return
        self._put(_END)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    # ------------------------------------------------------------------ caller's thread

    def __iter__(self) -> "NicedProducer[T]":
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        item = self._q.get()
        if item is _END:
            self._done = True
            self._thread.join()
            raise StopIteration
        if isinstance(item, _Raised):
            self._done = True
            self._thread.join()
            raise item.exc
        return item

    def close(self) -> None:
        """Stop the producer (its iterator is closed on its own thread) and wait for it."""
        self._done = True
        self._stop.set()
        while self._thread.is_alive():
            try:  # room for a producer blocked on a full queue
                self._q.get(timeout=_POLL_S)
            except queue.Empty:
                pass
        self._thread.join()

    def __enter__(self) -> "NicedProducer[T]":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()
