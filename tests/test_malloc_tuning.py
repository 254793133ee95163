"""fix_mmap_threshold: frame-sized blocks freed by a render process go back to the OS."""

import subprocess
import sys

import pytest

CHECK = r"""
import sys
import numpy as np
from compositor.malloc_tuning import fix_mmap_threshold

def rss_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))

if sys.argv[1] == "fixed":
    assert fix_mmap_threshold()
for _ in range(2):  # glibc raises its threshold when the first mmap-ed block is freed
    block = np.ones(3 << 20, np.uint8)  # a 1080p picture's worth, touched
    del block
before = rss_kb()
blocks = [np.ones(3 << 20, np.uint8) for _ in range(8)]
pins = [np.ones(1 << 10, np.uint8) for _ in range(64)]  # small blocks allocated after them
blocks = None
print(rss_kb() - before)
"""


def _kept_kb(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHECK, mode], capture_output=True, text=True, check=True).stdout
    return int(out.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_freed_frame_sized_blocks_are_returned_to_the_os():
    fixed = _kept_kb("fixed")
    assert fixed < 4 << 10, fixed  # under 4 MB of the 24 MB freed still resident
    assert _kept_kb("dynamic") > fixed  # what glibc's dynamic threshold would keep
