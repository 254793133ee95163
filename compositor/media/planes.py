"""YUV 4:2:0 plane views: the pixel hand-over format of the media layer (pure, no I/O).

Compositing happens directly in BT.709 limited-range YUV 4:2:0 planes (uint8).  A
:class:`Planes` is a bundle of 2-D uint8 arrays; the arrays are usually *views* into an
``av.VideoFrame``'s buffers (no copy), which is why ``keep`` holds the owning frame: the
buffers live exactly as long as some ``Planes`` (or array view) refers to them.

Plane shapes for a ``w × h`` picture::

    y, a          (h, w)                    row stride = frame line size (≥ w, padded)
    u, v, a_half  (ceil(h/2), ceil(w/2))

Row padding means ``y.strides[0]`` may exceed ``w``: treat the arrays as ordinary strided
NumPy arrays (``np.ascontiguousarray`` when a kernel needs C order).  Views of *decoded*
frames are read-only (a decoder may still use the buffer as a reference picture); views of
encoder frames from ``Encoder.new_frame()`` are writable: they are the canvas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Planes", "planes_of_frame", "plane_view", "half_alpha", "YUV420_FORMATS"]

#: pixel formats whose first three planes are Y, U, V at 4:2:0 (``yuva420p`` adds alpha)
YUV420_FORMATS = frozenset({"yuv420p", "yuvj420p", "yuva420p"})


@dataclass(slots=True)
class Planes:
    """One picture as Y/U/V(/A) uint8 planes, BT.709 limited range, 4:2:0.

    ``a`` is straight (not premultiplied) alpha at luma resolution, ``a_half`` the mean
    alpha of each 2×2 block (chroma resolution); both ``None`` means opaque.
    ``pts_us`` is the presentation time in the source (µs from the stream start).
    ``keep`` keeps the owning ``av.VideoFrame`` (or any buffer owner) alive.
    """

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    a: np.ndarray | None = None
    a_half: np.ndarray | None = None
    pts_us: int = 0
    keep: object = None

    @property
    def width(self) -> int:
        return int(self.y.shape[1])

    @property
    def height(self) -> int:
        return int(self.y.shape[0])

    def copy(self) -> "Planes":
        """A deep, C-contiguous, writable copy that owns its memory (``keep`` is dropped)."""
        return Planes(
            np.array(self.y, order="C"),
            np.array(self.u, order="C"),
            np.array(self.v, order="C"),
            None if self.a is None else np.array(self.a, order="C"),
            None if self.a_half is None else np.array(self.a_half, order="C"),
            self.pts_us,
            None,
        )


def plane_view(plane, width: int, height: int, *, writable: bool = False) -> np.ndarray:
    """A (height, width) uint8 view of one ``av.VideoPlane`` honouring its line size.

    The plane's buffer is ``line_size × height`` bytes; we view it as
    ``(height, line_size)`` and slice the padding columns off, so no byte is copied.
    """
    line = plane.line_size
    if line < width:
        raise ValueError(f"plane line size {line} < width {width}")
    buf = np.frombuffer(plane, dtype=np.uint8)
    if buf.size < line * height:
        raise ValueError(f"plane buffer has {buf.size} bytes, need {line * height}")
    view = buf[: line * height].reshape(height, line)[:, :width]
    if not writable:
        view.flags.writeable = False
    elif not view.flags.writeable:
        raise ValueError("frame plane is not writable")
    return view


def half_alpha(a: np.ndarray) -> np.ndarray:
    """Mean alpha of each 2×2 block (rounded half up), shape (ceil(h/2), ceil(w/2)).

    Odd edges average the pixels that exist (a 1×2 or 1×1 block).
    """
    h, w = a.shape
    hh, hw = (h + 1) // 2, (w + 1) // 2
    acc = np.zeros((hh, hw), np.uint16)
    cnt = np.zeros((hh, hw), np.uint16)
    for dy in (0, 1):
        for dx in (0, 1):
            part = a[dy::2, dx::2]
            acc[: part.shape[0], : part.shape[1]] += part
            cnt[: part.shape[0], : part.shape[1]] += 1
    return ((acc + cnt // 2) // cnt).astype(np.uint8)


def planes_of_frame(frame, pts_us: int, *, writable: bool = False) -> Planes:
    """NumPy views of a ``yuv420p`` / ``yuvj420p`` / ``yuva420p`` ``av.VideoFrame``'s planes.

    Zero copy: the arrays alias the frame's buffers and ``keep`` references the frame.
    For ``yuva420p`` the alpha plane is a view too and ``a_half`` is computed (one small
    allocation).  ``writable=False`` (default) marks the views read-only.
    """
    fmt = frame.format.name
    if fmt not in YUV420_FORMATS:
        raise ValueError(f"planes_of_frame needs a yuv420p/yuva420p frame, got {fmt}")
    w, h = frame.width, frame.height
    cw, ch = (w + 1) // 2, (h + 1) // 2
    planes = frame.planes
    y = plane_view(planes[0], w, h, writable=writable)
    u = plane_view(planes[1], cw, ch, writable=writable)
    v = plane_view(planes[2], cw, ch, writable=writable)
    a = a_half = None
    if fmt == "yuva420p":
        a = plane_view(planes[3], w, h, writable=writable)
        a_half = half_alpha(a)
    return Planes(y, u, v, a, a_half, int(pts_us), frame)
