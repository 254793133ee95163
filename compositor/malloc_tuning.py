"""Process memory settings for a rendering process (I/O: glibc ``mallopt``).

Called once by the process that owns the whole process (the CLI, a server worker), never
by the library on its own: it changes how the C allocator serves every thread.

glibc raises its mmap threshold dynamically: once a large block that was mmap-ed is freed,
blocks up to that size come from the heap arenas instead. A render frees and allocates
frame-sized blocks as decoders open and close (FFmpeg's frame pools, ~3 MB per 1080p
picture) on several threads, so after the first clip change those pictures are carved out
of per-thread arenas, where freed ones stay resident (measured on the reference draft:
≈24 MB more resident after its A→B dissolve than before it). A fixed threshold (the
default's initial 128 KiB; setting it turns the dynamic rule off) serves every
frame-sized block with its own mapping, returned to the OS when freed. Large blocks are
few — frame pools and scratch planes are reused — so this costs no measurable CPU.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["fix_mmap_threshold", "MMAP_THRESHOLD_BYTES"]

#: blocks at least this large get their own mapping (glibc's initial threshold)
MMAP_THRESHOLD_BYTES = 128 * 1024
_M_MMAP_THRESHOLD = -3  # glibc malloc.h


def fix_mmap_threshold(nbytes: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold at ``nbytes`` (see module doc); False when this is not
    glibc (nothing changed)."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    mallopt = getattr(libc, "mallopt", None)  # musl has none
    if mallopt is None:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, int(nbytes)))
