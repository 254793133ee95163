"""Pictures for the compositor (I/O): decoded video frames and pre-loaded stills.

``PicturePool(op)`` returns the :class:`Planes` a DrawOp needs. Each video clip gets its
own VideoReader (a decode thread with a small bounded read-ahead), opened shortly before
the clip is first needed and closed once the timeline has moved past it, so the number of
open decoders — and memory — depends on how many clips overlap, not on video length.
A compound clip's picture is its nested timeline drawn by a
:class:`~compositor.compound_pictures.CompoundPicture` (a nested pool of this kind), made
when the clip is first drawn and closed with its decoders once the timeline has left it.
Photos the catalogue deferred (``MediaCatalog.deferred``) are decoded the same way, on one
background thread, :data:`STILL_PREFETCH_US` before a clip showing them starts, and dropped
once no clip in its window shows them: only the photos near the playhead are in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from typing import TYPE_CHECKING, Callable

from .catalog import MediaCatalog
from .compound import KIND as COMPOUND
from .compound_pictures import CompoundPicture
from .media.planes import Planes
from .media.video_reader import DecodeStats, VideoReader
from .plan import DrawOp
from .stage_stats import StageClock
from .timeline import Timeline, VisualClip, source_time_us
from .visibility import SourceVisibility, loop_filter_skippable

if TYPE_CHECKING:  # the text package (FreeType, HarfBuzz) is loaded only for drafts with text
    from .text.pool import TextRasters

# Open a clip's decoder this long before its first frame is needed.
PREFETCH_US = 700_000
# Start decoding a deferred photo this long before a clip first shows it.
STILL_PREFETCH_US = 1_000_000


def _needed_window(tl: Timeline) -> dict[str, tuple[VisualClip, int, int]]:
    """segment id -> (clip, first, last timeline µs at which its picture can be needed)."""
    out: dict[str, tuple[VisualClip, int, int]] = {}
    for track in tl.tracks:
        clips = track.clips
        for i, c in enumerate(clips):
            first, last = c.target_start_us, c.target_end_us
            if c.transition_out is not None:
                last = max(last, c.transition_out.end_us)
            if i > 0 and clips[i - 1].transition_out is not None:
                first = min(first, clips[i - 1].transition_out.start_us)
            out[c.segment_id] = (c, first, last)
    return out


def _text_rasters(tl: Timeline) -> "TextRasters | None":
    """The text pictures of ``tl``'s captions; None (and the text package not even
    imported: FreeType, HarfBuzz and the fonts cost ~14 MB) when it has none."""
    if not any(c.kind == "text" for track in tl.tracks for c in track.clips):
        return None
    from .text.pool import TextRasters

    return TextRasters(tl)


class PicturePool:
    def __init__(
        self,
        tl: Timeline,
        catalog: MediaCatalog,
        *,
        reader_factory: Callable[..., VideoReader] = VideoReader,
        read_ahead: int = 1,
        decode_threads: int = 0,
        visibility: Mapping[str, SourceVisibility] | None = None,
        skip_loop_filter: bool = False,
        schedule: bool = True,
        clock: StageClock | None = None,
    ):
        """``clock``: stages ``text`` (rasterising) and ``wait:decode`` are measured on it
        (the readers' own decode threads report to the clock the factory gives them)."""
        self._clock = clock
        self._tl = tl
        # segment id -> the source times it is drawn at (compositor.visibility); None = unknown
        self._visibility = visibility
        self._skip_loop_filter = skip_loop_filter
        self._schedule = schedule  # False: only the loop-filter decision is taken from visibility
        self._catalog = catalog
        self._factory = reader_factory
        self._read_ahead = read_ahead
        self._threads = decode_threads
        self._windows = _needed_window(tl)
        self._readers: dict[str, VideoReader] = {}
        #: segment id -> its reader's DecodeStats (kept after the reader is closed)
        self.decode_stats: dict[str, DecodeStats] = {}
        self._compounds: dict[str, CompoundPicture] = {}
        self._text = _text_rasters(tl)
        # deferred photo path -> windows (first, last µs) of the clips showing it
        self._still_windows: dict[str, list[tuple[int, int]]] = {}
        for clip, first, last in self._windows.values():
            if clip.is_still and clip.media_key in catalog.deferred and clip.media_key not in catalog.stills:
                self._still_windows.setdefault(clip.media_key, []).append((first, last))
        self._resident: dict[str, Planes | Future] = {}  # deferred photos decoded or decoding
        self._still_decoder: ThreadPoolExecutor | None = None

    def __call__(self, op: DrawOp) -> Planes:
        clock = self._clock
        if op.kind == "text":
            assert self._text is not None  # a text op comes from a text clip of this timeline
            with clock.measure("text") if clock is not None else nullcontext():
                return self._text(op)
        if op.kind == COMPOUND:
            return self._compound(op.segment_id, op.media_key).picture(op.source_us or 0)
        if op.is_still:
            return self._still(op.media_key)
        reader = self._readers.get(op.segment_id)
        if reader is None:
            reader = self._open(op.segment_id, op.source_us or 0)
        with clock.measure("wait:decode") if clock is not None else nullcontext():
            return reader.frame_at(op.source_us or 0)

    @property
    def resident_stills(self) -> frozenset[str]:
        """Paths of the deferred photos this pool holds (decoded or being decoded)."""
        return frozenset(self._resident)

    def _still(self, path: str) -> Planes:
        planes = self._catalog.stills.get(path)
        if planes is not None:
            return planes
        held = self._resident.get(path)
        if held is None:  # drawn outside the windows advance() saw: decode it now
            held = self._resident[path] = self._submit_still(path)
        if isinstance(held, Future):
            clock = self._clock
            with clock.measure("wait:decode") if clock is not None else nullcontext():
                held = self._resident[path] = held.result()  # MediaError of a corrupt photo
        return held

    def _submit_still(self, path: str) -> Future:
        if self._still_decoder is None:
            self._still_decoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="still-decode")
        return self._still_decoder.submit(self._decode_still, path)

    def _decode_still(self, path: str) -> Planes:
        clock = self._clock
        with clock.measure("decode:stills") if clock is not None else nullcontext():
            return self._catalog.deferred[path].decode()

    def _advance_stills(self, t_us: int) -> None:
        wanted = {
            path
            for path, windows in self._still_windows.items()
            if any(first - STILL_PREFETCH_US <= t_us < last for first, last in windows)
        }
        for path in [p for p in self._resident if p not in wanted]:
            held = self._resident.pop(path)
            if isinstance(held, Future):
                held.cancel()  # (a decode already running finishes and is dropped)
        for path in sorted(wanted - self._resident.keys()):
            self._resident[path] = self._submit_still(path)

    def _open(self, segment_id: str, start_us: int) -> VideoReader:
        clip = self._windows[segment_id][0]
        info = self._catalog.infos[clip.media_key]
        vis = self._visibility.get(segment_id) if self._visibility is not None else None
        extra: dict[str, object] = {}
        if vis is not None and vis.shown_us:
            extra["skip_loop_filter"] = self._skip_loop_filter and loop_filter_skippable(vis)
            if self._schedule and vis.in_order and vis.first_us is not None:
                # start where it is first drawn (not under a cover, not before it shows) and
                # decode only what the schedule shows; out-of-order clips decode as before
                start_us = vis.first_us
                extra["shown_us"] = vis.shown_us
        reader = self._factory(
            clip.media_key, info, start_us=start_us, read_ahead=self._read_ahead, threads=self._threads, **extra
        )
        self._readers[segment_id] = reader
        stats = getattr(reader, "stats", None)
        if stats is not None:
            self.decode_stats[segment_id] = stats
        return reader

    def _compound(self, segment_id: str, key: str) -> CompoundPicture:
        picture = self._compounds.get(segment_id)
        if picture is None:
            picture = self._compounds[segment_id] = CompoundPicture(self._tl.compounds[key], self._nested_pool)
        return picture

    def _nested_pool(self, tl: Timeline) -> "PicturePool":
        return PicturePool(
            tl,
            self._catalog,
            reader_factory=self._factory,
            read_ahead=self._read_ahead,
            decode_threads=self._threads,
            clock=self._clock,
        )

    def advance(self, t_us: int) -> None:
        """Open decoders of clips needed soon; close those the timeline has left behind."""
        if self._text is not None:
            self._text.advance(t_us)
        if self._still_windows:
            self._advance_stills(t_us)
        for sid, (clip, first, last) in self._windows.items():
            if clip.kind == COMPOUND:
                if sid in self._compounds and (t_us >= last or t_us < first - PREFETCH_US):
                    self._compounds.pop(sid).close()
                continue
            if clip.is_still:
                continue
            open_now = sid in self._readers
            if not open_now and self._never_shown(sid):
                continue
            if not open_now and first - PREFETCH_US <= t_us < last:
                self._open(sid, max(0, source_time_us(clip, max(t_us, first))))
            elif open_now and (t_us >= last or t_us < first - PREFETCH_US):
                # (before its window: a nested timeline played backwards by a reversed compound)
                self._readers.pop(sid).close()

    def _never_shown(self, segment_id: str) -> bool:
        if not self._schedule:
            return False
        vis = self._visibility.get(segment_id) if self._visibility is not None else None
        return vis is not None and not vis.shown_us

    def close(self) -> None:
        if self._text is not None:
            self._text.clear()
        self._resident.clear()
        if self._still_decoder is not None:
            self._still_decoder.shutdown(wait=True, cancel_futures=True)
            self._still_decoder = None
        while self._compounds:
            self._compounds.popitem()[1].close()
        while self._readers:
            self._readers.popitem()[1].close()

    def __enter__(self) -> "PicturePool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
