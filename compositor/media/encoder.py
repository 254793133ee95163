"""H.264/AAC MP4 writer with one encode-and-mux thread behind a bounded queue (I/O).

::

    render loop ──new_frame()──▶ (av.VideoFrame, writable Planes)  … composite into planes …
                ──submit_video(frame, n)──┐
                ──submit_audio(samples)───┤  bounded queue (queue_frames pictures)
                                          ▼
                               encoder thread: libx264 / aac encode ─▶ mux (one writer)
                ──close()──▶ flush both encoders, write trailer (+faststart moves moov first)

* Video: libx264, yuv420p, tagged BT.709 (primaries, transfer, matrix) limited ("tv")
  range, codec time base ``1/fps``, ``pts = frame index`` (explicit, no drift).
* Audio: AAC-LC 48 kHz stereo fltp.  ``submit_audio`` accepts any block size; the thread
  re-chunks to the codec's 1024-sample frames, ``pts = samples written so far`` (time
  base 1/48000), and the last partial frame is sent as a short frame on ``close``.
* Ownership: after ``submit_video(frame, …)`` the frame belongs to the encoder; take a
  new one from :meth:`Encoder.new_frame` for the next picture.  ``submit_audio`` copies.
* Errors raised on the thread surface as :class:`EncodeError` on the next submit/close.
  ``abort()`` stops the thread and deletes the partial file.
* The file is written at ``path`` directly; the caller handles temp names and renames.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from fractions import Fraction

import av
import numpy as np

from compositor.errors import EncodeError
from compositor.media.planes import Planes, planes_of_frame
from compositor.stage_stats import StageClock

__all__ = ["Encoder", "AUDIO_RATE", "AAC_FRAME", "QUEUE_BYTES"]

AUDIO_RATE = 48000
AAC_FRAME = 1024
_BT709 = 1  # AVCOL_PRI_BT709 == AVCOL_TRC_BT709 == AVCOL_SPC_BT709
_RANGE_MPEG = 1  # AVCOL_RANGE_MPEG ("tv")
_POLL_S = 0.05
#: how many bytes of queued pictures the default queue holds (then at least 2, at most 8):
#: 4 frames at 1080p, 2 at 4K. One picture is not enough: x264's frame threads take
#: pictures in bursts, and with room for one the render loop stalls while a core is idle.
QUEUE_BYTES = 12 * 1024 * 1024
_JOIN_S = 60.0


class Encoder:
    """MP4 (H.264 + AAC) encoder; see the module doc for the threading and time model."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        width: int,
        height: int,
        fps: Fraction,
        crf: int = 23,
        preset: str = "veryfast",
        audio: bool = True,
        video: bool = True,
        audio_bitrate: int = 192_000,
        x264_params: dict | str | None = None,
        threads: int = 0,
        queue_frames: int | None = None,
        clock: StageClock | None = None,
    ):
        """``clock``: where the encoder thread adds its CPU and busy wall time when it ends
        (stage ``encode``; x264's own worker threads are not this thread, see stage_stats).
        ``queue_frames``: pictures the queue holds before ``submit_video`` blocks (default:
        :data:`QUEUE_BYTES` worth, 2–8); each picture may come with its audio block."""
        self.path = os.fspath(path)
        self._clock = clock
        self.width, self.height = int(width), int(height)
        self.fps = Fraction(fps)
        if self.width <= 0 or self.height <= 0 or self.width % 2 or self.height % 2:
            raise EncodeError(f"output size must be positive and even for yuv420p, got {width}x{height}")
        if self.fps <= 0:
            raise EncodeError(f"fps must be positive, got {fps}")
        self.audio = bool(audio)
        self.video = bool(video)
        if not (self.audio or self.video):
            raise EncodeError("an encoder needs a video or an audio stream")
        self.time_base = Fraction(self.fps.denominator, self.fps.numerator)
        if queue_frames is None:
            queue_frames = min(8, max(2, QUEUE_BYTES // (self.width * self.height * 3 // 2)))
        # one item per picture and one per audio block (the render loop submits both per frame)
        self._q: queue.Queue = queue.Queue(maxsize=2 * max(1, int(queue_frames)))
        self._free: queue.SimpleQueue = queue.SimpleQueue()  # (frame, planes) ready for reuse
        self._exc: BaseException | None = None
        self._exc_index: int | None = None
        self._closed = False
        self._aborted = False
        self._finished = False
        self._last_index = -1
        self.frames_submitted = 0
        self.samples_submitted = 0
        try:
            self._container = av.open(self.path, "w", format="mp4", options={"movflags": "+faststart"})
        except (av.FFmpegError, OSError, ValueError) as e:
            raise EncodeError(f"cannot create {self.path} ({e})") from e
        try:
            self._vstream = None
            if self.video:
                self._vstream = self._add_video(crf, preset, x264_params, threads)
            self._astream = None
            if self.audio:
                a = self._container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
                a.codec_context.format = "fltp"
                a.codec_context.bit_rate = int(audio_bitrate)
                a.codec_context.time_base = Fraction(1, AUDIO_RATE)
                self._astream = a
        except Exception as e:
            self._container.close()
            _unlink(self.path)
            raise EncodeError(f"cannot set up the encoder ({e})") from e
        self._pending: list[np.ndarray] = []
        self._pending_n = 0
        self._audio_pts = 0
        self._thread = threading.Thread(target=self._run, name="encode", daemon=True)
        self._thread.start()

    def _add_video(self, crf: int, preset: str, x264_params: dict | str | None, threads: int):
        vs = self._container.add_stream("libx264", rate=self.fps)
        vs.width, vs.height = self.width, self.height
        vs.pix_fmt = "yuv420p"
        cc = vs.codec_context
        cc.time_base = self.time_base
        cc.color_primaries = _BT709
        cc.color_trc = _BT709
        cc.colorspace = _BT709
        cc.color_range = _RANGE_MPEG
        cc.thread_count = max(0, int(threads))
        # Frame threads, as the ffmpeg CLI uses: PyAV defaults encoders to slice threads,
        # which makes x264 encode slower (and each picture in slices).
        cc.thread_type = "FRAME"
        opts = {"crf": str(crf), "preset": str(preset)}
        if x264_params:
            opts["x264-params"] = (
                x264_params if isinstance(x264_params, str) else ":".join(f"{k}={v}" for k, v in x264_params.items())
            )
        cc.options = opts
        return vs

    # ------------------------------------------------------------------ public API

    def new_frame(self) -> tuple[av.VideoFrame, Planes]:
        """A yuv420p frame and writable views of its planes (contents undefined).

        Frames are recycled: x264 copies each picture while it is encoded, so once the
        encoder thread has sent a frame it goes back to a small free list instead of being
        freed (no 3 MB allocation and page faults per 1080p frame)."""
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        frame.colorspace = _BT709
        frame.color_range = _RANGE_MPEG
        return frame, planes_of_frame(frame, 0, writable=True)

    def submit_video(self, frame: av.VideoFrame, index: int, planes: Planes | None = None) -> None:
        """Queue ``frame`` as output frame ``index`` (pts = index, strictly increasing).

        ``planes`` (the views :meth:`new_frame` returned with it) lets the frame be recycled
        after encoding; the caller must not touch either afterwards."""
        self._check()
        if self._vstream is None:
            raise EncodeError("this encoder has no video stream")
        index = int(index)
        if index <= self._last_index:
            raise EncodeError(f"frame index {index} not after {self._last_index}", index)
        if frame.width != self.width or frame.height != self.height or frame.format.name != "yuv420p":
            raise EncodeError(
                f"frame is {frame.width}x{frame.height} {frame.format.name}, want {self.width}x{self.height} yuv420p",
                index,
            )
        self._last_index = index
        self._put(("v", frame, index, planes))
        self.frames_submitted += 1

    def submit_audio(self, samples: np.ndarray) -> None:
        """Queue float32 ``(2, n)`` samples at 48 kHz (any n; copied)."""
        self._check()
        if not self.audio:
            raise EncodeError("this encoder has no audio stream")
        arr = np.array(samples, dtype=np.float32, copy=True, order="C")
        if arr.ndim != 2 or arr.shape[0] != 2:
            raise EncodeError(f"audio must be shaped (2, n), got {arr.shape}")
        if arr.shape[1]:
            self._put(("a", arr))
            self.samples_submitted += arr.shape[1]

    def close(self) -> None:
        """Flush both encoders and finish the file (moov moved to the front)."""
        if self._closed:
            self._check(check_closed=False)
            return
        self._closed = True
        if self._exc is None:
            self._put(("close",), check_closed=False)
        self._thread.join(_JOIN_S)
        if self._thread.is_alive():
            raise EncodeError("encoder thread did not finish")
        self._check(check_closed=False)
        self._finished = True

    def abort(self) -> None:
        """Stop encoding and delete the partial file (never raises for encoder errors)."""
        if self._aborted or self._finished:
            return
        self._aborted = True
        self._closed = True
        while True:
            try:
                self._q.get_nowait()
            except queue.Empty:
                break
        if self._thread.is_alive():
            try:
                self._q.put(("abort",), timeout=5)
            except queue.Full:
                pass
            self._thread.join(_JOIN_S)
        if not self._thread.is_alive():
            _unlink(self.path)

    def __enter__(self) -> "Encoder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # ------------------------------------------------------------------ producer side

    def _check(self, check_closed: bool = True) -> None:
        if self._exc is not None:
            raise EncodeError(f"encoding failed: {self._exc}", self._exc_index) from self._exc
        if check_closed and self._closed:
            raise EncodeError("encoder is closed")

    def _put(self, item, check_closed: bool = True) -> None:
        while True:
            try:
                self._q.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    self._check(check_closed=False)
                    raise EncodeError("encoder thread stopped") from None

    # ------------------------------------------------------------------ encoder thread

    def _run(self) -> None:
        container = self._container
        finished = False
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        idle_s = 0.0  # wall time waiting for work
        items = 0
        try:
            while True:
                t0 = time.perf_counter()
                item = self._q.get()
                idle_s += time.perf_counter() - t0
                items += 1
                kind = item[0]
                if kind == "v":
                    self._exc_index = item[2]
                    self._encode_video(item[1], item[2])
                    if item[3] is not None:
                        self._free.put((item[1], item[3]))
                elif kind == "a":
                    self._encode_audio(item[1])
                elif kind == "close":
                    self._exc_index = None
                    self._flush()
                    container.close()
                    finished = True
                    return
                else:  # abort
                    return
        except BaseException as e:  # surfaced by the next submit/close
            self._exc = e
        finally:
            if not finished:
                try:
                    container.close()
                except Exception:
                    pass
            if self._clock is not None:
                wall = time.perf_counter() - wall0 - idle_s
                self._clock.add("encode", time.thread_time() - cpu0, wall, items)

    def _mux(self, packets) -> None:
        if packets:
            self._container.mux(packets)

    def _encode_video(self, frame: av.VideoFrame, index: int) -> None:
        frame.pts = index
        frame.time_base = self.time_base
        frame.duration = 1
        frame.colorspace = _BT709
        frame.color_range = _RANGE_MPEG
        frame.color_primaries = _BT709
        frame.color_trc = _BT709
        self._mux(self._vstream.encode(frame))

    def _encode_audio(self, arr: np.ndarray) -> None:
        self._pending.append(arr)
        self._pending_n += arr.shape[1]
        if self._pending_n < AAC_FRAME:
            return
        buf = np.concatenate(self._pending, axis=1) if len(self._pending) > 1 else self._pending[0]
        n_full = buf.shape[1] // AAC_FRAME * AAC_FRAME
        for k in range(0, n_full, AAC_FRAME):
            self._send_audio(buf[:, k : k + AAC_FRAME])
        rest = buf[:, n_full:]
        self._pending = [rest] if rest.shape[1] else []
        self._pending_n = rest.shape[1]

    def _send_audio(self, chunk: np.ndarray) -> None:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.time_base = Fraction(1, AUDIO_RATE)
        frame.pts = self._audio_pts
        self._audio_pts += chunk.shape[1]
        self._mux(self._astream.encode(frame))

    def _flush(self) -> None:
        if self._astream is not None:
            if self._pending_n:
                buf = np.concatenate(self._pending, axis=1)
                self._pending, self._pending_n = [], 0
                self._send_audio(buf)  # a short last frame (AAC allows it)
            self._mux(self._astream.encode(None))
        if self._vstream is not None:
            self._mux(self._vstream.encode(None))


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
