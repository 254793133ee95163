"""Warp-once caches of a render session (pixels, no I/O): static layers and still mip-maps.

:class:`LayerCache` — a layer whose picture, matrix and opacity do not change between
frames (a static caption, a logo, a sticker, a photo between keyframes) is warped once
into a :class:`~compositor.kernels.warp.WarpRecord` per plane, which every later frame
applies instead of warping again (the same bytes: see ``kernels.warp.warp_record``).
A layer is recorded the second time the same key is drawn in a row, so a moving layer,
whose key changes every frame, never pays for recording. A layer whose warp is already
about as cheap as replaying a record (an opaque picture only scaled and moved: the
separable warp) is recorded only after ``draws_before_record`` identical draws, because a
record costs some twenty such warps: a Ken Burns photo held still for a few frames at a
keyframe would pay more to record than it saves.

:class:`MipCache` — the 2×-reduced copies of a still (box filter, ``kernels.downsample2x``)
that a strongly down-scaled warp samples from, built once per still instead of once per
frame.

Keys hold the *identity* of the picture's arrays (``id``); entries hold weak references
to those arrays and are used only while they still refer to the very arrays drawn (an id
of a freed array may be reused by a new one). So a cache never keeps a picture alive —
a caption's raster goes when its clip ends. Only pictures that are never written after
they are made may be keyed this way: decoded stills and text rasters (the compositor
decides which; video frames are not cached).

Both caches are bounded in bytes and drop the least recently used entries; a render
session owns one of each (they are created by the caller and passed in).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Hashable

import numpy as np

from ..kernels import downsample2x
from ..kernels.warp import WarpRecord, blit_record, warp_record
from ..media.planes import Planes

# Defaults of a render session's budgets (bytes).
LAYER_CACHE_BYTES = 64 << 20
MIP_CACHE_BYTES = 48 << 20

# How many slots (clips) remember the key they were last drawn with (a layer is recorded
# when a slot draws the same key twice in a row).
_SLOTS = 64


class _ByteLRU:
    """An LRU dict whose values carry a byte size; the total stays within ``max_bytes``."""

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self.nbytes = 0
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> object | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: Hashable, value: object, nbytes: int) -> bool:
        """Store ``value`` (False, and nothing stored, when it alone exceeds the budget)."""
        if nbytes > self.max_bytes:
            return False
        old = self._items.pop(key, None)
        if old is not None:
            self.nbytes -= old[1]
        while self._items and self.nbytes + nbytes > self.max_bytes:
            self.nbytes -= self._items.popitem(last=False)[1][1]
        self._items[key] = (value, nbytes)
        self.nbytes += nbytes
        return True

    def drop(self, keys: list[Hashable]) -> None:
        """Forget the entries of ``keys`` (those present), emptying the list."""
        while keys:
            item = self._items.pop(keys.pop(), None)
            if item is not None:
                self.nbytes -= item[1]

    def clear(self) -> None:
        self._items.clear()
        self.nbytes = 0


def picture_identity(p: Planes) -> tuple[int, ...]:
    """The identity of a picture's arrays (valid while they are referenced)."""
    return (id(p.y), id(p.u), id(p.v), id(p.a), id(p.a_half))


class _Refs:
    """Weak references to a picture's arrays: is a later picture made of the same arrays?"""

    __slots__ = ("_refs",)

    def __init__(self, p: Planes, key: Hashable, dead: list[Hashable]):
        # when the luma plane goes, ``key`` is listed in ``dead`` (its entry is then useless)
        self._refs = tuple(
            None if a is None else weakref.ref(a, (lambda _r: dead.append(key)) if i == 0 else None)
            for i, a in enumerate((p.y, p.u, p.v, p.a, p.a_half))
        )

    def same(self, p: Planes) -> bool:
        for r, a in zip(self._refs, (p.y, p.u, p.v, p.a, p.a_half)):
            if (None if r is None else r()) is not a:
                return False
        return True


def _matrix_bytes(inv: np.ndarray) -> bytes:
    return np.ascontiguousarray(inv, dtype=np.float64).tobytes()


class _Entry:
    __slots__ = ("records", "refs")

    def __init__(self, records: tuple[WarpRecord | None, ...], refs: _Refs):
        self.records = records
        self.refs = refs  # the arrays whose ids are in the key


class LayerCache:
    """Recorded warps of static layers, LRU-bounded by bytes (one per render session)."""

    def __init__(self, max_bytes: int = LAYER_CACHE_BYTES):
        self._entries = _ByteLRU(max_bytes)
        # slot -> (key drawn last, how many times in a row)
        self._last: OrderedDict[Hashable, tuple[Hashable, int]] = OrderedDict()
        self._dead: list[Hashable] = []  # keys whose picture was freed (appended by weakrefs)
        self.recorded = 0  # layers recorded (for tests and benchmarks)
        self.blits = 0  # draws served from a record

    @property
    def nbytes(self) -> int:
        """Bytes of the records held."""
        return self._entries.nbytes

    def __len__(self) -> int:
        return len(self._entries)

    def draw(
        self,
        slot: Hashable,
        dst: Planes,
        picture: Planes,
        version: Hashable,
        src: Planes,
        inv: np.ndarray,
        inv_c: np.ndarray,
        opacity: float,
        box: tuple[int, int, int, int],
        box_c: tuple[int, int, int, int],
        draws_before_record: int = 1,
    ) -> bool:
        """Blit the recorded warp of ``src`` (a view of ``picture``, picked by ``version``:
        crop, mip level, matrix …) onto ``dst`` if this layer was drawn before. False when
        the caller must warp it itself: the layer drawn in ``slot`` (a clip) was drawn the
        same way fewer than ``draws_before_record`` times in a row just before, or its
        record would not fit the budget. (Remembering one key per slot keeps a moving layer
        from filling memory with keys.)"""
        key = (
            picture_identity(picture),
            version,
            _matrix_bytes(inv),
            _matrix_bytes(inv_c),
            np.float64(opacity).tobytes(),
            box,
            box_c,
            dst.y.shape,
            dst.u.shape,
        )
        if self._dead:
            self._entries.drop(self._dead)
        entry = self._entries.get(key)
        if entry is not None and not entry.refs.same(picture):  # type: ignore[attr-defined]
            entry = None  # made from arrays since freed, whose id a new array now has
        if entry is None:
            last_key, draws = self._last.get(slot, (None, 0))
            if last_key != key or draws < draws_before_record:
                self._last[slot] = (key, draws + 1 if last_key == key else 1)
                self._last.move_to_end(slot)
                if len(self._last) > _SLOTS:
                    self._last.popitem(last=False)
                return False
            entry = self._record(key, picture, src, inv, inv_c, opacity, box, box_c, dst)
            if entry is None:
                return False
        assert isinstance(entry, _Entry)
        self.blits += 1
        for plane, rec in zip((dst.y, dst.u, dst.v), entry.records):
            if rec is not None:
                blit_record(plane, rec)
        return True

    def _record(self, key, picture, src, inv, inv_c, opacity, box, box_c, dst) -> _Entry | None:
        records = (
            warp_record(src.y, src.a, inv, opacity, box, dst.y.shape),
            warp_record(src.u, src.a_half, inv_c, opacity, box_c, dst.u.shape),
            warp_record(src.v, src.a_half, inv_c, opacity, box_c, dst.v.shape),
        )
        if any(r is None for r in records):
            return None  # an unresampled copy: warp_blend is already a blit
        entry = _Entry(records, _Refs(picture, key, self._dead))
        if not self._entries.put(key, entry, sum(r.nbytes for r in records if r is not None)):
            return None
        self.recorded += 1
        return entry

    def clear(self) -> None:
        self._entries.clear()
        self._last.clear()


class MipCache:
    """2×-reduced levels of stills, built once per (picture, crop), LRU-bounded by bytes."""

    def __init__(self, max_bytes: int = MIP_CACHE_BYTES):
        self._levels = _ByteLRU(max_bytes)
        self._dead: list[Hashable] = []  # keys whose picture was freed (appended by weakrefs)
        self.built = 0  # levels built (for tests and benchmarks)

    @property
    def nbytes(self) -> int:
        return self._levels.nbytes

    def level(self, picture: Planes, version: Hashable, src: Planes, n: int) -> Planes:
        """Level ``n`` ≥ 1 of ``src`` (a view of ``picture`` picked by ``version``): each
        level is :func:`~compositor.kernels.downsample2x` of the one above."""
        key = (picture_identity(picture), version, n)
        if self._dead:
            self._levels.drop(self._dead)
        got = self._levels.get(key)
        if got is not None:
            assert isinstance(got, tuple)
            if got[1].same(picture):
                return got[0]
        above = src if n == 1 else self.level(picture, version, src, n - 1)
        w, h = (above.width + 1) // 2, (above.height + 1) // 2
        cw, ch = (w + 1) // 2, (h + 1) // 2
        half = Planes(np.empty((h, w), np.uint8), np.empty((ch, cw), np.uint8), np.empty((ch, cw), np.uint8))
        downsample2x(above.y, half.y)
        downsample2x(above.u, half.u)
        downsample2x(above.v, half.v)
        self.built += 1
        nbytes = half.y.nbytes + half.u.nbytes + half.v.nbytes
        self._levels.put(key, (half, _Refs(picture, key, self._dead)), nbytes)
        return half

    def clear(self) -> None:
        self._levels.clear()
