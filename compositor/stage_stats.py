"""Where a render's time goes: CPU-seconds and wall seconds per stage (pure data + a clock).

:class:`StageStats` (frozen, pure data) is what :class:`~compositor.pipeline.RenderResult`
carries and ``render --stats`` prints. :class:`StageClock` collects it while a render runs;
it only reads the process's own clocks (``time.thread_time`` — the CPU of the *calling*
thread — ``time.perf_counter`` and ``time.process_time``), nothing else.

Stages (docs/performance.md explains each):

* ``open`` — before the first frame: parse, probe, resolve (caption layout) and decode the
  stills that are not deferred (PNG, stickers: decode + RGBA → YUVA, on a small thread
  pool: process CPU); JPEG photos only have their header read.
* ``decode:stills`` — the deferred JPEG photos, decoded on the picture pool's thread shortly
  before they are drawn (decode + RGB → YUV).
* ``decode:<file>`` — one per video source: its decode threads (demux, decode, pixel-format
  conversion), measured inside each thread (wall = busy time, not time blocked on the queue).
* ``composite`` — the render loop's compositing (warps, blends, transitions, filters), on
  the render thread (:mod:`compositor.niced_producer`), without the text and decode stages
  nested in it.
* ``text`` — rasterising captions (shaping, glyphs, stroke, RGBA → YUVA); drawing the
  raster into the frame is ``composite``.
* ``audio`` — mixing the timeline's sound (audio decode, resample, gains).
* ``encode`` — the encoder thread (x264's calls, AAC, muxing); ``encode:codec threads`` —
  process CPU no thread above accounts for: x264's own worker threads (and FFmpeg's decoder
  threads when ``threads`` > 1; on ≤ 4 cores decoders run single-threaded in their own thread).
* ``main:other`` — the rest of the render thread (planning, scheduling, progress).
* ``wait:decode`` / ``wait:encode`` — wall time the render thread waited for a decoded frame /
  for room in the encoder's queue (CPU ≈ 0): which side is the bottleneck.

Nested measurements on one thread are exclusive: the outer stage's figures exclude the
inner ones, so the CPU of all stages adds up to (at most) the process CPU.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["StageTime", "StageStats", "StageClock", "CODEC_THREADS"]

#: the stage that holds process CPU not measured on any thread of ours
CODEC_THREADS = "encode:codec threads"


@dataclass(frozen=True, slots=True)
class StageTime:
    """One stage's totals over a render."""

    name: str
    cpu_s: float
    wall_s: float
    calls: int


@dataclass(frozen=True, slots=True)
class StageStats:
    """Per-stage totals of one render, plus the whole render's wall and process CPU."""

    stages: tuple[StageTime, ...]
    wall_s: float
    process_cpu_s: float

    def get(self, name: str) -> StageTime | None:
        for s in self.stages:
            if s.name == name:
                return s
        return None

    @property
    def stage_cpu_s(self) -> float:
        """Sum of the stages' CPU (≤ ``process_cpu_s`` up to clock granularity)."""
        return sum(s.cpu_s for s in self.stages)

    def with_stage(self, stage: StageTime | None) -> "StageStats":
        """These figures with ``stage`` (measured before them, e.g. ``open``) first and in the totals."""
        if stage is None:
            return self
        return StageStats(
            stages=(stage,) + self.stages,
            wall_s=self.wall_s + stage.wall_s,
            process_cpu_s=self.process_cpu_s + stage.cpu_s,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "wall_s": round(self.wall_s, 4),
            "process_cpu_s": round(self.process_cpu_s, 4),
            "stages": {
                s.name: {"cpu_s": round(s.cpu_s, 4), "wall_s": round(s.wall_s, 4), "calls": s.calls}
                for s in self.stages
            },
        }

    def lines(self) -> list[str]:
        """A fixed-width table: one header line, one line per stage, one total line."""
        width = max([len(s.name) for s in self.stages] + [len("total (process)")])
        out = [f"{'stage':<{width}}  {'cpu_s':>8}  {'wall_s':>8}  {'calls':>7}"]
        for s in self.stages:
            out.append(f"{s.name:<{width}}  {s.cpu_s:8.3f}  {s.wall_s:8.3f}  {s.calls:7d}")
        out.append(f"{'total (process)':<{width}}  {self.process_cpu_s:8.3f}  {self.wall_s:8.3f}  {'':>7}")
        return out


def _stage_order(name: str) -> tuple[int, str]:
    for i, prefix in enumerate(("decode:", "composite", "text", "audio", "encode", "main:", "wait:")):
        if name.startswith(prefix):
            return i, name
    return 99, name


class StageClock:
    """Collects stage figures from any thread (thread-safe); :meth:`finish` freezes them.

    ``measure(name)`` times a block on the calling thread; ``add(name, cpu_s, wall_s)``
    records figures a thread measured itself (decode and encoder threads do so when they end).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[str, list[float]] = {}  # name -> [cpu_s, wall_s, calls]
        self._local = threading.local()
        self._wall0 = time.perf_counter()
        self._cpu0 = time.process_time()

    def start(self) -> None:
        """Restart the whole-render clocks (wall and process CPU)."""
        self._wall0 = time.perf_counter()
        self._cpu0 = time.process_time()

    def add(self, name: str, cpu_s: float, wall_s: float, calls: int = 1) -> None:
        with self._lock:
            t = self._totals.setdefault(name, [0.0, 0.0, 0])
            t[0] += max(0.0, cpu_s)
            t[1] += max(0.0, wall_s)
            t[2] += calls

    @contextmanager
    def measure(self, name: str) -> Iterator[None]:
        """Time the block on this thread, excluding blocks measured inside it."""
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        frame = [0.0, 0.0]  # CPU and wall of nested measurements
        stack.append(frame)
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        try:
            yield
        finally:
            cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
            stack.pop()
            if stack:
                stack[-1][0] += cpu
                stack[-1][1] += wall
            self.add(name, cpu - frame[0], wall - frame[1])

    def finish(self) -> StageStats:
        """The figures so far; process CPU no stage accounts for goes to :data:`CODEC_THREADS`."""
        wall = time.perf_counter() - self._wall0
        process_cpu = time.process_time() - self._cpu0
        with self._lock:
            totals = {k: list(v) for k, v in self._totals.items()}
        measured = sum(v[0] for v in totals.values())
        if CODEC_THREADS not in totals:
            totals[CODEC_THREADS] = [max(0.0, process_cpu - measured), 0.0, 0]
        stages = tuple(
            StageTime(name, v[0], v[1], int(v[2]))
            for name, v in sorted(totals.items(), key=lambda kv: _stage_order(kv[0]))
        )
        return StageStats(stages=stages, wall_s=wall, process_cpu_s=process_cpu)
