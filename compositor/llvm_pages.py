"""Give back LLVM's resident code pages once the kernels are loaded (I/O: /proc, madvise).

Numba loads each kernel's machine code from its on-disk cache through LLVM, which lives in
one large shared library (``libllvmlite.so``, ~170 MB of code). Loading the first kernels
of a render touches ~55–65 MB of that library's read-only pages, and they stay resident —
a tenth of a 1080p render's peak memory — although, once every kernel is loaded, nothing
executes them again: calling a compiled kernel never enters LLVM.

:class:`LlvmPages` notices when Numba has used LLVM (its compiler-lock event: a kernel
loaded from the cache or compiled) and then, from the render loop, asks the OS to drop the
pages of the library's read-only, file-backed mappings (``MADV_DONTNEED``). Only mappings
without a single private (copied-on-write) page are dropped — the relocated read-only data
is left alone — so nothing is lost: a page LLVM needs again (a kernel first used later in
the render) is read back from the file. Linux only; elsewhere, or when Numba has not
loaded LLVM, it does nothing.

    with LlvmPages() as pages:
        for frame in frames:
            ...                     # kernels run (and may be loaded)
            pages.release_if_used()
"""

from __future__ import annotations

import ctypes
import mmap
import os
import sys
import threading
from typing import Callable

__all__ = ["LlvmPages", "llvm_code_ranges"]

_LIBRARY = "libllvmlite"


def llvm_code_ranges(smaps_text: str, library: str = _LIBRARY) -> list[tuple[int, int]]:
    """``(start, end)`` of every read-only, private, file-backed mapping of ``library`` in
    a ``/proc/PID/smaps`` text that holds no anonymous (private, copied) page."""
    out: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for line in smaps_text.splitlines():
        head, _, rest = line.partition(" ")
        if not head.endswith(":"):  # a mapping line: "start-end perms offset dev inode [path]"
            current = None
            fields = rest.split()
            if "-" in head and len(fields) >= 5 and os.path.basename(fields[4]).startswith(library):
                perms = fields[0]
                if len(perms) == 4 and perms[0] == "r" and perms[1] == "-" and perms[3] == "p":
                    start, end = head.split("-")
                    current = (int(start, 16), int(end, 16))
        elif head == "Anonymous:" and current is not None:
            if int(rest.split()[0]) == 0:
                out.append(current)
            current = None
    return out


class LlvmPages:
    """Drops LLVM's resident read-only code pages after Numba used LLVM (see module doc)."""

    def __init__(self, smaps_path: str = "/proc/self/smaps"):
        self._smaps_path = smaps_path
        self._enabled = sys.platform.startswith("linux") and os.path.exists(smaps_path)
        # the first kernels may have been loaded before this object existed (by open)
        self._used = threading.Event()
        self._used.set()
        self._listener: object | None = None
        self._madvise: Callable[[int, int, int], int] | None = None
        self._ranges: list[tuple[int, int]] | None = None  # LLVM's clean read-only mappings
        self.released = 0  # how many times pages were dropped (for tests and benchmarks)

    def __enter__(self) -> "LlvmPages":
        if self._enabled:
            from numba.core import event

            used = self._used

            class _Used(event.Listener):
                def on_start(self, ev) -> None:
                    pass

                def on_end(self, ev) -> None:
                    used.set()

            listener = _Used()
            event.register("numba:compiler_lock", listener)
            self._listener = listener
        return self

    def __exit__(self, *exc) -> None:
        if self._listener is not None:
            from numba.core import event

            event.unregister("numba:compiler_lock", self._listener)
            self._listener = None

    def release_if_used(self) -> None:
        """Drop the pages if Numba used LLVM since the last call (cheap otherwise)."""
        if not self._enabled or not self._used.is_set():
            return
        self._used.clear()
        if "llvmlite.binding.ffi" not in sys.modules:
            return  # LLVM was never loaded
        ranges = self._ranges
        if ranges is None:
            # found once (reading smaps costs ~30 ms): the library stays mapped, and a
            # read-only mapping cannot gain private pages
            with open(self._smaps_path) as f:
                ranges = llvm_code_ranges(f.read())
            if not ranges:
                return  # the library is not loaded yet
            self._ranges = ranges
        if self._madvise is None:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
            libc.madvise.restype = ctypes.c_int
            self._madvise = libc.madvise
        madvise = self._madvise
        for start, end in ranges:
            madvise(start, end - start, mmap.MADV_DONTNEED)  # advice only: a failure changes nothing
        self.released += 1
