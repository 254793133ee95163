"""The render loop (I/O) and the library API built on it.

    session = open_draft("https://…/get_draft?draft_id=…")       # fetch, parse, probe, resolve
    for pts_us, rgb in session.frames():                          # composited frames as NumPy
        ...
    result = session.render("out.mp4", progress=cb, cancel=ev)   # or encode to MP4

``render()`` is the one function the CLI, the server and library users call. Every frame
goes plan → pictures → composite → encode; decode and encode run on their own threads
behind bounded queues, so memory does not grow with video length.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

import av
import numpy as np

from .audio_mix import AudioMixer
from .budgets import Limits, check_draft, check_timeline
from .catalog import MediaCatalog, build_catalog
from .kernels._jit import use_stored_runtime
from .pixels.compose import Compositor
from .pixels.layer_cache import LayerCache, MipCache
from .draft import Draft, load_draft
from .errors import Cancelled, CompositorError, OptionsError, RenderError
from .draft_folder import LocalDraft, local_draft
from .media.encoder import Encoder
from .media.video_reader import VideoReader
from .media.planes import Planes, planes_of_frame
from .niced_producer import NicedProducer
from .plan import plan_frame
from .pictures import PicturePool
from .resolve import resolve
from .stage_stats import StageClock, StageStats, StageTime
from .timeline import OutputOptions, Timeline
from .visibility import source_visibility
from .warnings import RenderWarning


#: RenderOptions.compose_nice's default (docs/performance.md: measured on the photo short)
COMPOSE_NICE = 10
#: progress reports the render thread may run ahead of the caller's callback
_PROGRESS_AHEAD = 64


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Output options; ``None`` = as the draft says (canvas size, draft fps, whole length)."""

    width: int | None = None
    height: int | None = None
    fps: Fraction | float | None = None
    start_us: int | None = None
    end_us: int | None = None
    crf: int = 23
    preset: str = "veryfast"
    audio_bitrate: int = 192_000
    threads: int = 0  # encoder/decoder threads (0 = auto)
    limits: Limits = Limits()  # resource budgets, checked before any frame is rendered
    sticker_table: object = None  # {resource_id: image path/URL} or a JSON file of it (stickers)
    egress: object = None  # compositor.egress.EgressPolicy of every download (None = permissive)
    fetch_limits: object = None  # compositor.fetch.FetchLimits of every download (None = defaults)
    # decode only the source frames the output shows (compositor.visibility); False = every frame
    decode_visible_only: bool = True
    # skip the loop filter on unreferenced frames of H.264 sources never drawn above ½ scale
    # (≥ 52.8 dB at ½ size; off by default: no measurable gain on phone-like media, docs/decoding.md)
    skip_loop_filter: bool = False
    # run the render loop on a thread this many nice steps below the caller's (Linux), so that
    # x264's threads run first and compositing fills the cycles they leave
    # (compositor.niced_producer); 0 = the caller's priority
    compose_nice: int = COMPOSE_NICE

    def output(self) -> OutputOptions:
        return OutputOptions(
            width=self.width, height=self.height, fps=self.fps, start_us=self.start_us, end_us=self.end_us
        )


@dataclass(frozen=True, slots=True)
class Progress:
    phase: str  # "rendering"
    frames_done: int
    frames_total: int
    elapsed_s: float

    @property
    def fraction(self) -> float:
        return self.frames_done / self.frames_total if self.frames_total else 1.0


@dataclass(frozen=True, slots=True)
class RenderResult:
    output: str
    frames: int
    width: int
    height: int
    fps: Fraction
    duration_us: int
    elapsed_s: float
    warnings: tuple[RenderWarning, ...] = field(default=())
    stages: StageStats | None = None  # CPU and wall per stage (compositor/stage_stats.py)

    @property
    def realtime_factor(self) -> float:
        return (self.duration_us / 1e6) / self.elapsed_s if self.elapsed_s > 0 else float("inf")


def default_cache_dir() -> Path:
    base = os.environ.get("DRAFT_RENDER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "draft-renderer"
    )
    return Path(base)


class DraftSession:
    """An opened draft: its timeline, warnings, and frame/ render entry points."""

    def __init__(
        self, local: LocalDraft, draft: Draft, catalog: MediaCatalog, timeline: Timeline, options: RenderOptions
    ):
        self.local = local
        self.draft = draft
        self.catalog = catalog
        self.timeline = timeline
        self.options = options
        self.open_stage: StageTime | None = None  # parse/probe/stills, measured by open_local
        self._frame_warnings: dict[str, RenderWarning] = {}  # segment id -> first frame-time warning

    @property
    def warnings(self) -> tuple[RenderWarning, ...]:
        """The timeline's warnings, then those found while compositing (one per segment)."""
        return self.timeline.warnings + tuple(self._frame_warnings.values())

    def _note_dropped(self, plan) -> None:
        for seg_id in plan.dropped:
            if seg_id not in self._frame_warnings:
                self._frame_warnings[seg_id] = RenderWarning(
                    kind="transform",
                    status="skipped",
                    segment_id=seg_id,
                    start_us=plan.t_us,
                    end_us=None,
                    message=f"not drawn at frames whose transform is not finite or not invertible "
                    f"(first at frame {plan.index})",
                )

    @property
    def frame_count(self) -> int:
        return self.timeline.frame_count

    def picture_pool(self, frames: range | None = None, clock: StageClock | None = None) -> PicturePool:
        """The decoders and pictures of one pass over the output frames ``frames`` (default: all;
        the caller closes it): with ``decode_visible_only`` each video source decodes only the
        frames those output frames show (a chunk's readers start at its first shown frame),
        with ``skip_loop_filter`` sources drawn at ≤ ½ skip part of the loop filter;
        ``clock``: decode (per source), text and waits are measured on it."""
        opts = self.options
        tl = self.timeline
        wanted = opts.decode_visible_only or opts.skip_loop_filter
        vis = source_visibility(tl, frames) if wanted else None
        return PicturePool(
            tl,
            self.catalog,
            reader_factory=VideoReader if clock is None else partial(VideoReader, clock=clock),
            decode_threads=decode_threads(opts.threads),
            visibility=vis,
            skip_loop_filter=opts.skip_loop_filter,
            schedule=opts.decode_visible_only,
            clock=clock,
        )

    # -- the one loop -------------------------------------------------------------------

    def composite(
        self,
        new_frame: Callable[[], tuple[av.VideoFrame, Planes]],
        *,
        cancel: threading.Event | Callable[[], bool] | None = None,
        frames: range | None = None,
        clock: StageClock | None = None,
    ) -> Iterator[tuple[int, av.VideoFrame, Planes]]:
        """Yield ``(index, frame, planes)`` for every output frame (or those of ``frames``, a
        step-1 range inside ``[0, frame_count)``), composited into ``new_frame()``.

        ``clock``: the stages decode, text and composite are measured on it."""
        tl = self.timeline
        indices = self._frame_range(frames)
        # this loop's warp-once caches: static layers' recorded warps, stills' mip levels
        compositor = Compositor(tl.width, tl.height, layers=LayerCache(), mips=MipCache())
        is_cancelled = _cancel_check(cancel)
        with self.picture_pool(indices, clock) as pictures:
            for n in indices:
                if is_cancelled():
                    raise Cancelled(f"cancelled at frame {n}")
                plan = plan_frame(tl, n)
                if plan.dropped:
                    self._note_dropped(plan)
                pictures.advance(plan.t_us)
                frame, planes = new_frame()
                try:
                    with clock.measure("composite") if clock is not None else nullcontext():
                        compositor.compose(plan, planes, pictures)
                except CompositorError:
                    raise
                except Exception as exc:  # kernels raise ValueError on impossible input
                    raise RenderError(f"compositing failed: {exc}", n) from exc
                frame.pts = n
                yield n, frame, planes

    def frames(
        self, *, format: str = "rgb24", cancel: threading.Event | Callable[[], bool] | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Composited frames as ``(pts_us, array)``; ``format`` "rgb24" gives (h, w, 3) uint8,
        "yuv420p" gives the raw (h·3/2, w) planes."""
        tl = self.timeline

        def new_frame():
            f = av.VideoFrame(tl.width, tl.height, "yuv420p")
            return f, planes_of_frame(f, 0, writable=True)

        for n, frame, _ in self.composite(new_frame, cancel=cancel):
            pts_us = tl.timeline_us(n) - tl.timeline_us(0)
            if format == "yuv420p":
                yield pts_us, frame.to_ndarray()
            else:
                yield (
                    pts_us,
                    frame.reformat(format=format, src_colorspace="ITU709", src_color_range="MPEG").to_ndarray(),
                )

    def _frame_range(self, frames: range | None) -> range:
        count = self.timeline.frame_count
        if frames is None:
            return range(count)
        if frames.step != 1 or not 0 <= frames.start < frames.stop <= count:
            raise OptionsError(f"frame range [{frames.start}, {frames.stop}) is not a non-empty part of [0, {count})")
        return frames

    def render(
        self,
        output: str | os.PathLike,
        *,
        progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | Callable[[], bool] | None = None,
        frames: range | None = None,
    ) -> RenderResult:
        """Encode the draft to an MP4 at ``output`` (written to a temp name, then renamed).

        ``frames``: only these output frames, as a video-only chunk for :func:`join_chunks`
        (see :func:`render_range`); ``None`` = the whole timeline with its sound.

        The loop runs on its own thread, ``options.compose_nice`` steps below the caller's
        priority (:mod:`compositor.niced_producer`); ``progress`` is called on the caller's
        thread (never after ``cancel`` is set), ``cancel`` (when a callable) on both."""
        tl = self.timeline
        indices = self._frame_range(frames)
        started = time.monotonic()
        clock = StageClock()
        with _atomic_output(output) as tmp_name:
            encoder = make_encoder(tmp_name, tl, self.options, video=True, audio=frames is None, clock=clock)
            try:
                loop = partial(self._encode_frames, encoder, indices, frames is None, cancel, clock, started)
                with NicedProducer(
                    loop, nice=self.options.compose_nice, name="render", depth=_PROGRESS_AHEAD
                ) as reports:
                    is_cancelled = _cancel_check(cancel)
                    for report in reports:
                        # the loop may be a few frames ahead: none is reported after a cancel
                        if progress is not None and not is_cancelled():
                            progress(report)
            except BaseException:
                encoder.abort()
                raise
        return RenderResult(
            output=str(output),
            frames=len(indices),
            width=tl.width,
            height=tl.height,
            fps=tl.fps,
            duration_us=tl.output_duration_us if frames is None else _frames_us(len(indices), tl.fps),
            elapsed_s=time.monotonic() - started,
            warnings=self.warnings,
            stages=clock.finish().with_stage(self.open_stage),
        )

    def _encode_frames(
        self,
        encoder: Encoder,
        indices: range,
        with_audio: bool,
        cancel: threading.Event | Callable[[], bool] | None,
        clock: StageClock,
        started: float,
    ) -> Iterator[Progress]:
        """The render loop (on the render thread): composite each frame, submit it and its
        sound, yield its progress; then flush the encoder."""
        tl = self.timeline
        first = indices.start
        with AudioMixer(tl) as mixer, clock.measure("main:other"):
            for n, frame, planes in self.composite(encoder.new_frame, cancel=cancel, frames=indices, clock=clock):
                # a chunk's own timestamps start at 0: join_chunks rebases each chunk
                with clock.measure("wait:encode"):
                    encoder.submit_video(frame, n - first, planes)
                if with_audio:
                    with clock.measure("audio"):
                        samples = mixer.block(n)
                    with clock.measure("wait:encode"):
                        encoder.submit_audio(samples)
                yield Progress("rendering", n + 1 - first, len(indices), time.monotonic() - started)
            with clock.measure("wait:encode"):
                encoder.close()  # the encoder thread's flush

    def render_audio(
        self, output: str | os.PathLike, *, cancel: threading.Event | Callable[[], bool] | None = None
    ) -> Path:
        """Mix and encode the whole timeline's sound once (AAC in an audio-only MP4) for
        :func:`join_chunks`: the same mixer blocks, frame by frame, as :meth:`render` uses."""
        tl = self.timeline
        is_cancelled = _cancel_check(cancel)
        with _atomic_output(output) as tmp_name:
            encoder = make_encoder(tmp_name, tl, self.options, video=False, audio=True)
            try:
                with AudioMixer(tl) as mixer:
                    for n in range(tl.frame_count):
                        if is_cancelled():
                            raise Cancelled(f"cancelled at frame {n} of the audio")
                        encoder.submit_audio(mixer.block(n))
                encoder.close()
            except BaseException:
                encoder.abort()
                raise
        return Path(output)


def make_encoder(
    path: str | os.PathLike,
    tl: Timeline,
    opts: RenderOptions,
    *,
    video: bool,
    audio: bool,
    clock: StageClock | None = None,
) -> Encoder:
    """The one place encoder settings come from: whole renders, chunks and the chunked
    render's audio all get the same x264/AAC settings (so chunks can be joined by stream copy)."""
    return Encoder(
        path,
        width=tl.width,
        height=tl.height,
        fps=tl.fps,
        crf=opts.crf,
        preset=opts.preset,
        video=video,
        audio=audio,
        audio_bitrate=opts.audio_bitrate,
        threads=opts.threads,
        clock=clock,
    )


def _frames_us(frames: int, fps: Fraction) -> int:
    return round(Fraction(frames) / Fraction(fps) * 1_000_000)


@contextmanager
def _atomic_output(output: str | os.PathLike) -> Iterator[str]:
    """A temp name beside ``output``, renamed to it when the block succeeds, deleted if not."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=".part.mp4", dir=output.parent)
    os.close(fd)
    try:
        yield tmp_name
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    os.replace(tmp_name, output)


def decode_threads(requested: int) -> int:
    """Threads per video decoder. On small machines x264 already keeps every core busy and
    each extra decoder thread costs a frame pool (~10 MB at 1080p), so decode on one
    thread each; elsewhere let FFmpeg choose."""
    if requested:
        return requested
    return 1 if (os.cpu_count() or 1) <= 4 else 0


def _cancel_check(cancel) -> Callable[[], bool]:
    if cancel is None:
        return lambda: False
    if isinstance(cancel, threading.Event):
        return cancel.is_set
    return cancel


def _locate(source: str | os.PathLike, cache_dir: Path | None, options: "RenderOptions") -> LocalDraft:
    text = str(source).strip()
    if text[:7].lower() == "http://" or text[:8].lower() == "https://":
        from .fetch import FetchLimits, fetch_draft_sync  # the HTTP client is only loaded for URLs

        return fetch_draft_sync(
            text, cache_dir or default_cache_dir(), policy=options.egress, limits=options.fetch_limits or FetchLimits()
        )
    return local_draft(text)


def open_local(local: LocalDraft, options: RenderOptions = RenderOptions(), *, text_engine=None) -> DraftSession:
    """Parse, probe and resolve a draft that is already on disk (see :func:`open_draft`).

    ``text_engine``: a :class:`compositor.text.TextEngine` to reuse (font/glyph caches)."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    use_stored_runtime()  # before the first kernel runs (kernels/_nrt_cache.py)
    limits = options.limits
    draft = load_draft(local.content_path, max_depth=limits.max_json_depth)
    check_draft(draft, options.output(), limits)
    catalog = build_catalog(
        draft,
        local,
        limits=limits,
        sticker_table=options.sticker_table,
        egress=options.egress,
        fetch_limits=options.fetch_limits,
    )
    timeline = resolve(draft, catalog.facts, options.output(), text_engine=text_engine)
    check_timeline(timeline, limits, draft)
    session = DraftSession(local, draft, catalog, timeline, options)
    # process CPU: stills that are not deferred are decoded by a small thread pool
    session.open_stage = StageTime("open", time.process_time() - cpu0, time.perf_counter() - wall0, 1)
    return session


def open_draft(
    source: str | os.PathLike,
    options: RenderOptions = RenderOptions(),
    *,
    cache_dir: Path | None = None,
    text_engine=None,
) -> DraftSession:
    """Fetch (if a URL), parse, probe and resolve a draft; nothing is rendered yet."""
    return open_local(_locate(source, cache_dir, options), options, text_engine=text_engine)


def render(
    source: str | os.PathLike,
    output: str | os.PathLike,
    options: RenderOptions = RenderOptions(),
    *,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
    cache_dir: Path | None = None,
) -> RenderResult:
    """Render ``source`` (draft_url, draft folder or draft_content.json) to an MP4."""
    return open_draft(source, options, cache_dir=cache_dir).render(output, progress=progress, cancel=cancel)


def _session(draft: "DraftSession | str | os.PathLike", options: RenderOptions, cache_dir: Path | None) -> DraftSession:
    return draft if isinstance(draft, DraftSession) else open_draft(draft, options, cache_dir=cache_dir)


def render_range(
    draft: "DraftSession | str | os.PathLike",
    start_frame: int,
    end_frame: int,
    out_path: str | os.PathLike,
    options: RenderOptions = RenderOptions(),
    *,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
    cache_dir: Path | None = None,
) -> RenderResult:
    """Render output frames ``[start_frame, end_frame)`` as a video-only H.264 MP4 chunk.

    Every chunk of one draft gets the same encoder settings (:func:`make_encoder`), starts on
    an IDR frame (x264 opens every stream with one; GOPs are closed) and holds exactly its
    frames with timestamps from 0, so :func:`join_chunks` can concatenate chunks by stream copy.
    ``draft`` is an opened :class:`DraftSession` (its options win) or a source as for
    :func:`open_draft`. Frame numbers are those of the output timeline (``frame_count``)."""
    session = _session(draft, options, cache_dir)
    return session.render(out_path, progress=progress, cancel=cancel, frames=range(int(start_frame), int(end_frame)))


def render_audio(
    draft: "DraftSession | str | os.PathLike",
    out_path: str | os.PathLike,
    options: RenderOptions = RenderOptions(),
    *,
    cancel: threading.Event | Callable[[], bool] | None = None,
    cache_dir: Path | None = None,
) -> Path:
    """Mix and encode the whole timeline's audio once (AAC, audio-only MP4) for :func:`join_chunks`."""
    return _session(draft, options, cache_dir).render_audio(out_path, cancel=cancel)


def join_chunks(
    chunk_paths: "list[str | os.PathLike]", audio_path: str | os.PathLike | None, out_path: str | os.PathLike
) -> Path:
    """Concatenate chunks from :func:`render_range` (in timeline order) by stream copy, with
    the audio of :func:`render_audio`, into one faststart MP4 (see :mod:`compositor.media.join`)."""
    from .media.join import join_streams

    with _atomic_output(out_path) as tmp_name:
        join_streams([Path(p) for p in chunk_paths], Path(audio_path) if audio_path is not None else None, tmp_name)
    return Path(out_path)


def chunk_ranges(frame_count: int, frames_per_chunk: int) -> list[tuple[int, int]]:
    """``[start, end)`` frame ranges of at most ``frames_per_chunk`` frames tiling the timeline;
    a short tail (under half a chunk) is merged into the previous chunk."""
    if frame_count <= 0:
        return []
    size = max(1, int(frames_per_chunk))
    starts = list(range(0, frame_count, size))
    if len(starts) > 1 and frame_count - starts[-1] < size // 2:
        starts.pop()
    return [(a, b) for a, b in zip(starts, starts[1:] + [frame_count])]


__all__ = [
    "RenderOptions",
    "RenderResult",
    "Progress",
    "DraftSession",
    "open_draft",
    "open_local",
    "render",
    "render_range",
    "render_audio",
    "join_chunks",
    "chunk_ranges",
    "make_encoder",
]
