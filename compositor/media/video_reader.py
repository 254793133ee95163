"""Decode a video source forward on a background thread; pick frames by pts (I/O).

::

    VideoReader(path, info, start_us=…)
        │  seek to the keyframe ≤ start_us, decode forward, drop frames that are
        │  superseded before start_us, convert to BT.709 limited yuv420p Planes
        ▼
    bounded queue (read_ahead Planes)  ──frame_at(t_us)──▶ newest frame with pts ≤ t_us

Rules of :meth:`VideoReader.frame_at` (the hold rule of docs/time.md):

* returns the newest decoded frame whose pts ≤ ``t_us``; pts are the stream's own
  timestamps (µs from the stream start, floored), so variable-frame-rate sources stay
  in sync;
* ``t_us`` before the first frame → the first frame; after the last → the last, forever;
* calls normally increase; a backward jump, or a jump more than :data:`JUMP_US` past
  what is decoded (when a later keyframe exists), restarts the decode thread at the new
  position instead of decoding everything in between.

With a schedule (``shown_us``: every time ``frame_at`` will be asked for, from the plan,
see :mod:`compositor.visibility`) the reader does only the work those times need:
a frame no wanted time selects is not converted, an H.264 frame nothing references
is not decoded (``skip_frame`` NONREF, set per packet), and at a keyframe with a gap of
unwanted frames ahead the producer seeks to the next wanted time (falling back to plain
forward decoding when the seek lands past it). Frames it hands over are those a full
decode gives. A time outside the schedule drops it (the reader restarts unscheduled).
``skip_loop_filter`` decodes an H.264 source's unreferenced frames without the deblocking
filter (for sources drawn at ≤ ½ scale; :data:`LOOP_FILTER_SKIP`, the PSNR cost is in
docs/decoding.md).

Pixels: frames already ``yuv420p`` in BT.709 limited range (or untagged at HD size) are
handed over as read-only zero-copy views; anything else (BT.601/SD, full range,
``yuvj*``, 10-bit, RGB, palette) is converted by swscale to BT.709 limited yuv420p, or
``yuva420p`` when the source has alpha (GIF, APNG, animated WebP).  Frames are *coded*
frames: rotation (``info.rotation``) is applied by the compositor, not here.

Animated WebP (``info.backend == "pillow"``) is decoded with Pillow on the same thread
model, because the bundled FFmpeg cannot decode it.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import av
from av.video.reformatter import VideoReformatter

from compositor.errors import MediaError
from compositor.media.planes import Planes, planes_of_frame
from compositor.media.probe import ALPHA_PIX_FMTS, STILL_FORMATS, MediaInfo
from compositor.stage_stats import StageClock

__all__ = ["VideoReader", "JUMP_US", "DecodeStats", "frame_to_planes"]

#: a forward jump further than this past the decoded position re-seeks
JUMP_US = 2_000_000
_POLL_S = 0.05
_JOIN_S = 10.0

# AVColorSpace → swscale colorspace name
_SWS_CS = {1: "ITU709", 4: "FCC", 5: "ITU601", 6: "ITU601", 7: "SMPTE240M", 9: "BT2020", 10: "BT2020"}
_AVCOL_SPC_BT709 = 1
_AVCOL_SPC_UNSPECIFIED = 2
_AVCOL_RANGE_JPEG = 2


def _is_hd(w: int, h: int) -> bool:
    """FFmpeg's heuristic: untagged video this large is BT.709, smaller is BT.601."""
    return w >= 1280 or h > 576


def frame_to_planes(frame, pts_us: int, reformatter: VideoReformatter | None = None) -> Planes:
    """A decoded ``av.VideoFrame`` → BT.709 limited-range 4:2:0 :class:`Planes`.

    Zero copy for yuv420p frames that are BT.709 (or untagged at HD size) and limited
    range; otherwise one swscale conversion.
    """
    fmt = frame.format
    name = fmt.name
    cs = frame.colorspace
    hd = _is_hd(frame.width, frame.height)
    if (
        name == "yuv420p"
        and frame.color_range != _AVCOL_RANGE_JPEG
        and (cs == _AVCOL_SPC_BT709 or (cs == _AVCOL_SPC_UNSPECIFIED and hd))
    ):
        return planes_of_frame(frame, pts_us)
    alpha = name in ALPHA_PIX_FMTS
    kwargs: dict[str, Any] = dict(
        format="yuva420p" if alpha else "yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG"
    )
    if not (fmt.is_rgb or fmt.has_palette or name.startswith(("gray", "ya"))):
        kwargs["src_colorspace"] = _SWS_CS.get(cs, "ITU709" if hd else "ITU601")
        full = name.startswith("yuvj") or frame.color_range == _AVCOL_RANGE_JPEG
        kwargs["src_color_range"] = "JPEG" if full else "MPEG"
    rf = reformatter or VideoReformatter()
    out = rf.reformat(frame, **kwargs)
    return planes_of_frame(out, pts_us)


#: codecs whose decoders honour skip_frame=NONREF by dropping only frames nothing references
#: (H.264: nal_ref_idc 0. Not HEVC: its "non-reference" NAL types may still be referenced
#: by pictures of a higher temporal sub-layer, which phones write.)
_NONREF_SKIP_CODECS = frozenset({"h264"})
#: codecs whose loop filter may be skipped (the PSNR cost is measured for H.264 only)
_LOOP_FILTER_SKIP_CODECS = frozenset({"h264"})
#: which frames skip it: "noref" (frames nothing references, so the error does not spread
#: through the GOP). "all" costs 35.8 dB (worst frame, Y, at ½ size) on phone-like 1080p,
#: below the 45 dB the project accepts; "noref" costs 54.3 dB (docs/decoding.md).
LOOP_FILTER_SKIP = "noref"
_LOOKAHEAD_PACKETS = 8  # packets demuxed ahead of the decoder, to bound a frame's successor
_RECENT_PTS = 48  # packet pts remembered per pass (past and look-ahead)
_INF = float("inf")


@dataclass(slots=True)
class DecodeStats:
    """Work done by one reader (all generations): frames out of the decoder, frames
    converted and queued, seeks its producer made to skip a stretch nobody sees, and the
    CPU time its decode threads spent (FFmpeg's own frame threads are not included)."""

    decoded: int = 0
    converted: int = 0
    seeks: int = 0
    cpu_s: float = 0.0  # CPU time of the decode threads (with threads=1: all decoding work)


def _contains(sorted_us: tuple[int, ...], t_us: int) -> bool:
    i = bisect_left(sorted_us, t_us)
    return i < len(sorted_us) and sorted_us[i] == t_us


class _Schedule:
    """The source times a reader will be asked for, and what that implies for a frame.

    By the hold rule a frame with pts ``p`` whose successor (next pts) is ``q`` is shown iff
    a wanted time lies in ``[p, q)``; the first frame of a generation also answers every
    earlier time. A packet may be left undecoded (when the codec says nothing references
    it) when no wanted time lies in ``[p, u)`` for some ``u`` ≥ its successor's pts — the
    smallest larger pts among nearby packets is such a bound — and a smaller pts exists
    among them (so it is not the generation's first frame).
    """

    __slots__ = ("_us", "last_us")

    def __init__(self, shown_us: tuple[int, ...]):
        self._us = shown_us
        self.last_us = shown_us[-1] if shown_us else -1

    def any_in(self, lo: float, hi: float) -> bool:
        """A wanted time t with lo ≤ t < hi."""
        us = self._us
        i = bisect_left(us, lo) if lo != -_INF else 0
        return i < len(us) and us[i] < hi

    def next_at_or_after(self, t_us: int) -> int | None:
        us = self._us
        i = bisect_left(us, t_us)
        return us[i] if i < len(us) else None

    def skippable(self, p_us: int, nearby_pts_us: Iterable[int]) -> bool:
        below = False
        upper = _INF
        for q in nearby_pts_us:
            if q < p_us:
                below = True
            elif p_us < q < upper:
                upper = q
        return below and upper != _INF and not self.any_in(p_us, upper)


class _Failure:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException):
        self.exc = exc


_EOF = object()


class _Stopped(Exception):
    pass


def _skip_superseded(items: Iterator[tuple[int, object]], target_us: int):
    """Drop frames that a later frame with pts ≤ target supersedes (keep the hold frame)."""
    pending = None
    for pts_us, payload in items:
        if pts_us <= target_us:
            pending = (pts_us, payload)
            continue
        if pending is not None:
            yield pending
            pending = None
        yield pts_us, payload
        break
    else:
        if pending is not None:
            yield pending
        return
    yield from items


class _Worker(threading.Thread):
    """One decode generation: fills ``q`` with Planes, then _EOF (or a _Failure)."""

    def __init__(
        self,
        produce: Callable[["_Worker"], None],
        read_ahead: int,
        name: str,
        report: Callable[[float, float], None] | None = None,
    ):
        super().__init__(name=name, daemon=True)
        self._report = report  # (cpu_s, busy wall_s) of this thread, called when it ends
        self._blocked_s = 0.0  # wall time spent waiting for room in the queue
        self.q: queue.Queue = queue.Queue(maxsize=read_ahead)
        self.stop_event = threading.Event()
        self._produce = produce
        self.lock = threading.Lock()
        self.exited = False  # set under ``lock`` when run() is done with the container
        self.close_on_exit: Callable[[], None] | None = None

    def put(self, item) -> None:
        while True:
            if self.stop_event.is_set():
                raise _Stopped
            try:
                self.q.put_nowait(item)
                return
            except queue.Full:
                pass
            t0 = time.perf_counter()
            try:
                self.q.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue
            finally:
                self._blocked_s += time.perf_counter() - t0

    def run(self) -> None:
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        try:
            self._produce(self)
            self.put(_EOF)
        except _Stopped:
            pass
        except BaseException as e:  # surfaced by frame_at, never swallowed
            try:
                self.put(_Failure(e))
            except _Stopped:
                pass
        finally:
            if self._report is not None:
                self._report(time.thread_time() - cpu0, time.perf_counter() - wall0 - self._blocked_s)
            with self.lock:
                cb, self.close_on_exit = self.close_on_exit, None
                self.exited = True
                self.stop_event.set()
            if cb is not None:
                cb()

    def stop(self) -> bool:
        """Ask the thread to stop; True when it has exited."""
        self.stop_event.set()
        while True:  # unblock a put() waiting on a full queue
            try:
                self.q.get_nowait()
            except queue.Empty:
                break
        self.join(_JOIN_S)
        return not self.is_alive()


class VideoReader:
    """Forward decoder with bounded read-ahead and the pts hold rule (see module doc)."""

    def __init__(
        self,
        path: str | os.PathLike,
        info: MediaInfo,
        *,
        start_us: int = 0,
        read_ahead: int = 3,
        threads: int = 0,
        shown_us: Sequence[int] | None = None,
        skip_loop_filter: bool = False,
        clock: StageClock | None = None,
    ):
        """``clock``: where each decode thread adds its CPU and busy wall time when it ends
        (stage ``decode:<file name>``)."""
        self.path = os.fspath(path)
        self._clock = clock
        self.info = info
        #: the only times frame_at will be asked for (sorted), or None = any time
        self._shown: tuple[int, ...] | None = (
            tuple(sorted(set(int(t) for t in shown_us))) if shown_us is not None else None
        )
        if info.backend == "pillow":  # decoded whole by Pillow: nothing to skip
            self._shown = None
        self._skip_loop_filter = bool(skip_loop_filter)
        #: frames decoded / converted / left undecoded (skip_frame) so far, over all generations
        self.stats = DecodeStats()
        self._read_ahead = max(1, int(read_ahead))
        self._threads = max(0, int(threads))
        self._closed = False
        self._error: MediaError | None = None
        self._worker: _Worker | None = None
        self._cur: Planes | None = None
        self._next: Planes | None = None
        self._eof = False
        self._gen_target = 0
        self._gen_taken = 0
        self._first_pts_us: int | None = None  # pts of the stream's first frame, once known
        self._container = None
        self._keyframes_us: list[int] = []
        #: number of container seeks so far (the initial one when start_us > 0, then re-seeks)
        self.seek_count = 0
        if info.backend != "pillow":
            self._open_av()
        self._start(int(start_us), seek=int(start_us) > 0)

    # ------------------------------------------------------------------ public

    @property
    def width(self) -> int:
        """Coded frame width (before ``info.rotation``)."""
        return self.info.coded_width

    @property
    def height(self) -> int:
        return self.info.coded_height

    def frame_at(self, t_us: int) -> Planes:
        """The newest frame with pts ≤ ``t_us`` (first frame before it, last after the end)."""
        if self._closed:
            raise MediaError("video reader is closed", self.path)
        if self._error is not None:
            raise self._error
        t_us = int(t_us)
        if self._shown is not None and not _contains(self._shown, t_us):
            # a time the schedule did not announce: frames it needs may have been skipped
            self._shown = None
            self._restart(t_us)
        cur = self._cur
        if cur is not None:
            if t_us < cur.pts_us:
                if self._first_pts_us is None or cur.pts_us > self._first_pts_us:
                    self._restart(t_us)
            elif not self._eof and self._shown is None and self._should_jump(t_us):
                self._restart(t_us)
        while True:
            if self._next is None:
                if self._eof:
                    break
                item = self._take()
                if item is _EOF:
                    self._eof = True
                    break
                self._next = item
            if self._cur is None or self._next.pts_us <= t_us:
                self._cur, self._next = self._next, None
                self._note_taken(self._cur)
                continue
            break
        if self._cur is None:
            raise MediaError("no decodable video frame", self.path)
        return self._cur

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._cur = self._next = None
        self._stop_worker(close_container=True)

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ generations

    def _note_taken(self, planes: Planes) -> None:
        self._gen_taken += 1
        if self._gen_taken == 1 and (self._gen_target <= 0 or planes.pts_us > self._gen_target):
            # a generation from the start, or one whose seek found nothing earlier
            self._first_pts_us = planes.pts_us

    def _decoded_until(self) -> int:
        nxt = self._next if self._next is not None else self._cur
        return nxt.pts_us if nxt is not None else self._gen_target

    def _should_jump(self, t_us: int) -> bool:
        pos = self._decoded_until()
        if t_us - pos <= JUMP_US:
            return False
        if not self._keyframes_us:
            return True
        i = bisect_right(self._keyframes_us, t_us) - 1
        return i >= 0 and self._keyframes_us[i] > pos  # a keyframe closer to t exists

    def _restart(self, target_us: int) -> None:
        self._stop_worker(close_container=False)
        self._cur = self._next = None
        self._start(target_us, seek=True)

    def _take(self):
        w = self._worker
        item = w.q.get()
        if isinstance(item, _Failure):
            exc = item.exc
            err = exc if isinstance(exc, MediaError) else MediaError(f"cannot decode video ({exc})", self.path)
            if err is not exc:
                err.__cause__ = exc
            self._error = err
            raise err
        return item

    def _stop_worker(self, *, close_container: bool) -> None:
        w, self._worker = self._worker, None
        exited = True if w is None else w.stop()
        if exited:
            if close_container and self._container is not None:
                self._container.close()
                self._container = None
            return
        # the thread is stuck inside FFmpeg: it closes the container itself when it returns
        with w.lock:
            if not w.exited:
                w.close_on_exit = self._container.close if self._container is not None else None
                self._container = None
            elif close_container and self._container is not None:
                self._container.close()
                self._container = None
        if not close_container and self._container is None and self.info.backend != "pillow":
            self._open_av()

    def _start(self, target_us: int, *, seek: bool) -> None:
        self.seek_count += int(seek)
        self._eof = False
        self._gen_target = target_us
        self._gen_taken = 0
        if self.info.backend == "pillow":
            produce = self._make_pillow_producer(target_us)
        else:
            produce = self._make_av_producer(target_us, seek)
        name = f"decode:{os.path.basename(self.path)}"
        clock, stats = self._clock, self.stats

        def report(cpu_s: float, wall_s: float) -> None:  # when the decode thread ends
            stats.cpu_s += cpu_s
            if clock is not None:
                clock.add(name, cpu_s, wall_s)

        self._worker = _Worker(produce, self._read_ahead, name=name, report=report)
        self._worker.start()

    # ------------------------------------------------------------------ PyAV backend

    def _open_av(self) -> None:
        try:
            c = av.open(self.path, metadata_errors="ignore")
        except (av.FFmpegError, OSError, ValueError) as e:
            raise MediaError(f"cannot open video ({e})", self.path) from e
        streams = [s for s in c.streams.video if not (int(s.disposition) & int(av.stream.Disposition.attached_pic))]
        if not streams:
            c.close()
            raise MediaError("no video stream", self.path)
        s = streams[0]
        s.thread_type = "AUTO"
        s.codec_context.thread_count = self._threads
        #: True when this reader decodes without the loop filter (asked for, and an H.264 source)
        self.loop_filter_skipped = self._skip_loop_filter and s.codec_context.name in _LOOP_FILTER_SKIP_CODECS
        if self.loop_filter_skipped:
            s.codec_context.options = {**s.codec_context.options, "skip_loop_filter": LOOP_FILTER_SKIP}
        self._container = c
        self._stream_index = s.index
        self._tb = s.time_base
        self._start_pts = s.start_time if s.start_time is not None else 0
        if not self._keyframes_us:
            try:
                ks = sorted({self._to_us(e.timestamp) for e in s.index_entries if e.is_keyframe})
            except Exception:
                ks = []
            self._keyframes_us = ks

    def _to_us(self, ts: int) -> int:
        tb = self._tb
        return ((ts - self._start_pts) * 1_000_000 * tb.numerator) // tb.denominator

    def _to_ts(self, us: int) -> int:
        tb = self._tb
        return self._start_pts + (us * tb.denominator) // (1_000_000 * tb.numerator)

    def _make_av_producer(self, target_us: int, seek: bool):
        if self._shown is not None:
            return self._make_scheduled_producer(target_us, seek)
        container = self._container
        stream = container.streams[self._stream_index]
        to_us = self._to_us
        ts = self._to_ts(max(0, target_us))
        stats = self.stats

        def produce(worker: _Worker) -> None:
            stream.codec_context.skip_frame = "DEFAULT"
            if seek:
                container.seek(ts, stream=stream, backward=True, any_frame=False)
            rf = VideoReformatter()
            stop = worker.stop_event

            def decoded() -> Iterator[tuple[int, object]]:
                last_us = None
                step_us = None
                for packet in container.demux(stream):
                    if stop.is_set():
                        raise _Stopped
                    for frame in packet.decode():
                        stats.decoded += 1
                        p = frame.pts if frame.pts is not None else frame.dts
                        if p is not None:
                            pts_us = to_us(p)
                        elif last_us is not None:
                            if step_us is None:
                                rate = stream.average_rate or stream.guessed_rate or 30
                                step_us = int(1_000_000 / rate)
                            pts_us = last_us + step_us
                        else:
                            pts_us = 0
                        last_us = pts_us
                        yield pts_us, frame

            for pts_us, frame in _skip_superseded(decoded(), target_us):
                stats.converted += 1
                worker.put(frame_to_planes(frame, pts_us, rf))

        return produce

    def _make_scheduled_producer(self, target_us: int, seek: bool):
        """Decode only what the schedule (``self._shown``) can show (see :class:`_Schedule`)."""
        container = self._container
        stream = container.streams[self._stream_index]
        cc = stream.codec_context
        to_us, to_ts = self._to_us, self._to_ts
        stats = self.stats
        assert self._shown is not None
        sched = _Schedule(self._shown)
        keyframes_us = self._keyframes_us
        can_skip = cc.name in _NONREF_SKIP_CODECS

        def run(worker: _Worker) -> None:
            rf = VideoReformatter()
            stop = worker.stop_event
            pass_target = target_us
            do_seek = seek
            first_pass = True
            check_overshoot = False  # a jump pass must land at or before its wanted time
            no_jump_until = -1  # keyframe pts (µs) at or before which no jump is taken
            fallback: int | None = None  # where to resume when a jump's seek overshoots
            while True:
                if do_seek:
                    container.seek(to_ts(max(0, pass_target)), stream=stream, backward=True, any_frame=False)
                held: tuple[int, object, float] | None = None  # (pts, frame, lo of its interval)
                recent: deque[int] = deque(maxlen=_RECENT_PTS)
                ahead: deque = deque()
                packets = container.demux(stream)
                jump_to: int | None = None
                overshoot = False
                finished = False
                mode = "DEFAULT"
                last_pts = None
                monotonic = True
                exhausted = False
                while True:
                    if stop.is_set():
                        raise _Stopped
                    while not exhausted and len(ahead) < _LOOKAHEAD_PACKETS:
                        pkt = next(packets, None)
                        if pkt is None:
                            exhausted = True
                            break
                        ahead.append(pkt)
                        if pkt.pts is not None:
                            recent.append(to_us(pkt.pts))
                    if not ahead:
                        break
                    packet = ahead.popleft()
                    if packet.size == 0:  # the demuxer's flush packet: drain the decoder
                        frames = packet.decode()
                    else:
                        p_us = to_us(packet.pts) if packet.pts is not None else None
                        if (
                            packet.is_keyframe
                            and p_us is not None
                            and held is not None
                            and p_us > no_jump_until
                            and keyframes_us
                        ):
                            w_next = sched.next_at_or_after(held[0])
                            if w_next is None:
                                break  # nothing after the held frame is ever shown
                            i = bisect_right(keyframes_us, w_next) - 1
                            if i >= 0 and keyframes_us[i] > p_us:
                                jump_to, fallback, no_jump_until = w_next, p_us, p_us
                                break
                        skip = (
                            can_skip and p_us is not None and not packet.is_keyframe and sched.skippable(p_us, recent)
                        )
                        want = "NONREF" if skip else "DEFAULT"
                        if want != mode:
                            cc.skip_frame = mode = want
                        frames = packet.decode()
                    for frame in frames:
                        stats.decoded += 1
                        p = frame.pts if frame.pts is not None else frame.dts
                        if p is not None:
                            pts_us = to_us(p)
                        else:  # untimed frame: one frame step after the last (as unscheduled)
                            rate = stream.average_rate or stream.guessed_rate or 30
                            pts_us = 0 if last_pts is None else last_pts + int(1_000_000 / rate)
                        if last_pts is not None and pts_us <= last_pts:
                            monotonic = False
                        last_pts = pts_us
                        if held is None:
                            lo = -_INF if first_pass else float(pts_us)
                            if check_overshoot and pts_us > pass_target:
                                overshoot = True  # the seek landed past the wanted time
                                break
                        else:
                            if not monotonic or sched.any_in(held[2], pts_us):
                                stats.converted += 1
                                worker.put(frame_to_planes(held[1], held[0], rf))
                            if monotonic and pts_us > sched.last_us:
                                held = None  # past every wanted time: nothing more is shown
                                finished = True
                                break
                            lo = float(pts_us)
                        held = (pts_us, frame, lo)
                    if overshoot or finished:
                        break
                if mode != "DEFAULT":
                    cc.skip_frame = "DEFAULT"
                if overshoot:
                    assert fallback is not None
                    pass_target, do_seek, first_pass, check_overshoot = fallback, True, False, False
                    continue
                if held is not None and (not monotonic or sched.any_in(held[2], _INF if jump_to is None else jump_to)):
                    stats.converted += 1
                    worker.put(frame_to_planes(held[1], held[0], rf))
                if jump_to is None:
                    return
                stats.seeks += 1
                pass_target, do_seek, first_pass, check_overshoot = jump_to, True, False, True

        def produce(worker: _Worker) -> None:
            try:
                run(worker)
            finally:  # a stopped generation must not leave the next one skipping frames
                cc.skip_frame = "DEFAULT"

        return produce

    # ------------------------------------------------------------------ Pillow backend

    def _make_pillow_producer(self, target_us: int):
        path = self.path

        def produce(worker: _Worker) -> None:
            from PIL import Image

            from compositor.media.still import to_rgba

            rf = VideoReformatter()
            with Image.open(path, formats=STILL_FORMATS) as im:
                n = int(getattr(im, "n_frames", 1) or 1)

                def frames() -> Iterator[tuple[int, object]]:
                    t = 0
                    for i in range(n):
                        if worker.stop_event.is_set():
                            raise _Stopped
                        im.seek(i)  # Pillow decodes forward; the RGBA copy is cheap
                        d = float(im.info.get("duration") or 0)
                        yield t, to_rgba(im)
                        t += int(round((d if d > 10 else 100.0) * 1000))

                for pts_us, rgba in _skip_superseded(frames(), target_us):
                    vf = av.VideoFrame.from_ndarray(rgba, format="rgba")
                    worker.put(frame_to_planes(vf, pts_us, rf))

        return produce
