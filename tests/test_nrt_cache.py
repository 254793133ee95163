"""Numba's runtime helpers (NRT) are stored once and loaded back in later processes.

Each case runs in a fresh interpreter: Numba builds its NRT library once per process.
"""

import subprocess
import sys

CHILD = r"""
import sys, pathlib
import numba, numpy as np
from numba.core.runtime import nrtdynmod
from compositor.kernels import _nrt_cache

cache_dir = pathlib.Path(sys.argv[1])
compiles = []
real_compile = _nrt_cache._compile
def counting(library, ir_mod):
    compiles.append(1)
    return real_compile(library, ir_mod)
_nrt_cache._compile = counting
nrtdynmod.compile_nrt_functions = lambda ctx: _nrt_cache.load_or_compile(ctx, cache_dir)

@numba.njit
def uses_nrt(n):
    a = np.arange(n)     # an NRT allocation
    pair = [a, a[::-1]]  # references counted through NRT_incref/NRT_decref
    return pair[0].sum() * 100 + pair[1][0]

result = uses_nrt(10)
print(len(compiles), result)
"""


def _child(cache_dir) -> list[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(cache_dir)], capture_output=True, text=True, check=True
    ).stdout.split()


def test_first_process_compiles_and_stores_later_ones_load(tmp_path):
    assert _child(tmp_path) == ["1", "4509"]
    stored = list(tmp_path.glob("numba_nrt-*.nbo"))
    assert len(stored) == 1
    assert _child(tmp_path) == ["0", "4509"]
    assert list(tmp_path.glob("*.tmp")) == []


def test_unreadable_cache_file_means_a_compile(tmp_path):
    _child(tmp_path)
    (stored,) = tmp_path.glob("numba_nrt-*.nbo")
    stored.write_bytes(b"not a pickle")
    assert _child(tmp_path) == ["1", "4509"]
    assert _child(tmp_path) == ["0", "4509"]  # stored again by the compile


def test_unwritable_cache_dir_still_renders(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    assert _child(blocker / "sub") == ["1", "4509"]


def test_a_render_session_installs_the_cache_next_to_the_kernels_and_importing_does_not():
    code = (
        "from numba.core.runtime import nrtdynmod\n"
        "from compositor import pipeline\n"
        "from compositor.kernels import _jit, _nrt_cache\n"
        "print(getattr(nrtdynmod.compile_nrt_functions, _nrt_cache._MARK, None))\n"
        "_jit.use_stored_runtime()\n"
        "print(getattr(nrtdynmod.compile_nrt_functions, _nrt_cache._MARK) == _jit.cache_dir())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["None", "True"]


def test_a_numba_without_the_replaced_functions_is_left_alone(monkeypatch, tmp_path):
    from numba.core.runtime import nrtdynmod

    from compositor.kernels import _nrt_cache

    original = nrtdynmod.compile_nrt_functions
    monkeypatch.delattr(nrtdynmod, "create_nrt_module")
    _nrt_cache.install(tmp_path)
    assert nrtdynmod.compile_nrt_functions is original
