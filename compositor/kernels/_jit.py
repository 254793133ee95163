"""Numba options and argument checks shared by every kernel (pure, no I/O).

This is the one place that decides how kernels are compiled:

* ``nogil=True``: compositing runs in threads next to decode/encode threads.
* ``cache=True``: compiled machine code is stored next to the sources, so only the
  very first process on a machine pays the JIT compile. Numba's own runtime helpers
  (NRT), which it would otherwise compile in every process, are stored there too once a
  render session calls :func:`use_stored_runtime` (:mod:`._nrt_cache`).
* ``fastmath`` is restricted to flags that do not change results on the finite,
  well-scaled values the kernels see: no NaN/Inf (the wrappers reject them), signed
  zero is irrelevant, and ``contract`` (fused multiply-add) only removes an
  intermediate rounding.  ``reassoc``/``arcp``/``afn`` are left out on purpose:
  they let LLVM reorder sums and replace divisions, which would break the bit
  exactness the tests demand (identity warp, crossfade end points, integer blur).

The small validation helpers live here too, so each public wrapper checks its
arguments once, the same way, and raises a clear ``ValueError``.
"""

from __future__ import annotations

import functools
import math
import numbers
from pathlib import Path

import numba
import numpy as np

from . import _nrt_cache


def cache_dir() -> Path:
    """Where Numba stores the kernels' machine code: ``NUMBA_CACHE_DIR`` if set, else the
    ``__pycache__`` folder next to the kernel sources."""
    configured = numba.config.CACHE_DIR
    return Path(configured) if configured else Path(__file__).parent / "__pycache__"


def use_stored_runtime() -> None:
    """Take Numba's runtime helpers from :func:`cache_dir` from now on (idempotent; see
    :mod:`._nrt_cache`). Render sessions call it before their first kernel runs; until
    then, or without it, Numba compiles them as usual."""
    _nrt_cache.install(cache_dir())


FASTMATH = frozenset({"nnan", "ninf", "nsz", "contract"})

jit = functools.partial(numba.njit, nogil=True, cache=True, fastmath=set(FASTMATH))
"""Decorator for every private kernel: ``@jit`` then ``def _kernel(...)``."""

jit_exact = functools.partial(numba.njit, nogil=True, cache=True, fastmath=set(FASTMATH - {"contract"}))
"""For small float helpers whose bytes must not depend on where LLVM inlines them (no
fused multiply-add: with ``contract`` the same source line may round differently in two
callers). :mod:`.warp` needs this: a recorded warp replays a blend in another function,
and its separable and per-pixel loops must agree with each other and with the record."""


def check_plane(name: str, arr, *, writable: bool = False) -> np.ndarray:
    """Return ``arr`` if it is a 2-D uint8 plane with column stride 1, else raise.

    Row strides may exceed the width (views into padded FFmpeg frame buffers).
    """
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(arr).__name__}")
    if arr.dtype != np.uint8:
        raise ValueError(f"{name} must have dtype uint8, got {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (one plane), got shape {arr.shape}")
    if arr.shape[1] > 1 and arr.size and arr.strides[1] != 1:
        raise ValueError(f"{name} must have contiguous columns (column stride 1), got strides {arr.strides}")
    if writable and not arr.flags.writeable:
        raise ValueError(f"{name} must be writable")
    return arr


def check_same_shape(names: str, *arrays: np.ndarray) -> None:
    """Raise unless every array has the shape of the first one."""
    shapes = [a.shape for a in arrays]
    if any(s != shapes[0] for s in shapes[1:]):
        raise ValueError(f"{names} must have the same shape, got {shapes}")


def check_disjoint(names: str, a: np.ndarray, b: np.ndarray) -> None:
    """Raise if two arrays' memory ranges overlap (a cheap bounds test, no false negatives)."""
    if np.may_share_memory(a, b):
        raise ValueError(f"{names} must not overlap in memory")


def check_unit(name: str, value) -> float:
    """Return ``value`` as a float in [0, 1], else raise."""
    if not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    f = float(value)
    if not (0.0 <= f <= 1.0):  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return f


def check_int(name: str, value) -> int:
    """Return ``value`` as a Python int (bools and floats are refused), else raise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


def check_u8(name: str, value) -> int:
    """Return ``value`` as an int in 0..255, else raise."""
    v = check_int(name, value)
    if not 0 <= v <= 255:
        raise ValueError(f"{name} must be in 0..255, got {value!r}")
    return v


def clip_box(box, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Validate ``box = (x0, y0, x1, y1)`` and clip it to a plane of ``shape`` (h, w).

    The result may be empty (``x0 >= x1`` or ``y0 >= y1``); callers then do nothing.
    """
    try:
        x0, y0, x1, y1 = box
    except (TypeError, ValueError):
        raise ValueError(f"box must be (x0, y0, x1, y1), got {box!r}") from None
    x0, y0, x1, y1 = (check_int("box", v) for v in (x0, y0, x1, y1))
    h, w = shape
    x0, x1 = max(x0, 0), min(x1, w)
    y0, y1 = max(y0, 0), min(y1, h)
    return x0, y0, max(x0, x1), max(y0, y1)


def check_finite(name: str, value) -> float:
    """Return ``value`` as a finite float, else raise."""
    if not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    f = float(value)
    if not math.isfinite(f):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return f
