"""LlvmPages: LLVM's read-only code pages are given back, nothing else is touched."""

import sys

import numpy as np
import pytest

from compositor.llvm_pages import LlvmPages, llvm_code_ranges

SMAPS = """\
7f0000000000-7f0000100000 r--p 00000000 08:01 11 /venv/llvmlite/binding/libllvmlite.so
Rss:                 400 kB
Anonymous:             0 kB
VmFlags: rd mr mw me sd
7f0000100000-7f0000900000 r-xp 00100000 08:01 11 /venv/llvmlite/binding/libllvmlite.so
Rss:               22000 kB
Anonymous:             0 kB
7f0000900000-7f0000a00000 r--p 00900000 08:01 11 /venv/llvmlite/binding/libllvmlite.so
Rss:                1792 kB
Anonymous:          1792 kB
7f0000a00000-7f0000a10000 rw-p 00a00000 08:01 11 /venv/llvmlite/binding/libllvmlite.so
Rss:                  64 kB
Anonymous:            64 kB
7f0000b00000-7f0000c00000 r-xp 00000000 08:01 12 /usr/lib/libavcodec.so.62
Rss:                4000 kB
Anonymous:             0 kB
7f0000c00000-7f0000d00000 r--s 00000000 08:01 11 /venv/llvmlite/binding/libllvmlite.so
Rss:                   4 kB
Anonymous:             0 kB
7f0000d00000-7f0000e00000 rw-p 00000000 00:00 0
Rss:                 900 kB
Anonymous:           900 kB
"""


def test_only_clean_private_read_only_mappings_of_llvm_are_chosen():
    # not the relocated read-only data (private pages), not the writable data, not another
    # library, not a shared mapping, not anonymous memory
    assert llvm_code_ranges(SMAPS) == [(0x7F0000000000, 0x7F0000100000), (0x7F0000100000, 0x7F0000900000)]


def _llvm_rss_kb() -> int:
    total, inside = 0, False
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split(" ", 1)[0]
            if not head.endswith(":"):
                fields = line.split()
                inside = len(fields) >= 6 and "libllvmlite" in fields[5] and "w" not in fields[1]
            elif head == "Rss:" and inside:
                total += int(line.split()[1])
    return total


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and madvise: Linux only")
def test_pages_are_dropped_after_llvm_ran_and_kernels_keep_working():
    import numba

    from compositor.kernels import downsample2x

    src = np.arange(64 * 48, dtype=np.uint32).astype(np.uint8).reshape(48, 64)
    want = ((src[0::2, 0::2].astype(int) + src[0::2, 1::2] + src[1::2, 0::2] + src[1::2, 1::2] + 2) >> 2).astype(
        np.uint8
    )
    out = np.empty((24, 32), np.uint8)
    downsample2x(src, out)  # loaded (or compiled) through LLVM, maybe by an earlier test
    with LlvmPages() as pages:
        pages.release_if_used()  # whatever ran before
        released = pages.released

        @numba.njit(cache=False)
        def scaled_sum(a, k):  # compiled now: LLVM runs whatever earlier tests did
            return a.sum() * k

        assert scaled_sum(np.arange(5), 3) == 30
        before = _llvm_rss_kb()
        pages.release_if_used()  # the compile event marked LLVM as used
        after = _llvm_rss_kb()
        assert pages.released == released + 1
        pages.release_if_used()  # LLVM not used since: nothing to do
        assert pages.released == released + 1
        out2 = np.empty((24, 32), np.uint8)
        downsample2x(src, out2)  # compiled kernels still run
        assert scaled_sum(np.arange(5), 2) == 20
    assert before > 4096 and after < before / 2, (before, after)
    assert np.array_equal(out, want) and np.array_equal(out2, want)
