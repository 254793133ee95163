"""Numba's runtime helpers (NRT) from an on-disk object cache (I/O: reads/writes one file).

``cache=True`` stores every kernel's machine code, but Numba still compiles one library in
each process: its reference-counting helpers (``NRT_incref``/``NRT_decref``, a few atomics),
built from LLVM IR by :func:`numba.core.runtime.nrtdynmod.compile_nrt_functions` the first
time a kernel is loaded. That compile is tiny, yet it runs LLVM's whole optimisation and
x86 code-generation pipeline, which faults in ~20 MiB of ``libllvmlite.so``'s code that no
cached kernel load needs (bench/jit_memory.py measures it), for ~20 ms of CPU.

:func:`install` replaces that function by :func:`load_or_compile`, which stores the library
the way Numba stores a cached kernel (:meth:`serialize_using_object_code`: the object code
plus the bitcode kept for linking) and loads it back with Numba's own
:meth:`unserialize_library`. The machine code is the one LLVM would have produced, so no
result changes. The file name holds a hash of the Numba, llvmlite and Python versions,
Numba's codegen description (target triple, CPU name and features), its optimisation level
and the NRT's IR; a missing or unreadable file means a compile, exactly as without the cache.
A Numba without the two functions this relies on is left alone (it compiles its NRT).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import uuid
from pathlib import Path

import llvmlite
import numba
from numba.core.runtime import nrtdynmod

_MARK = "_compositor_nrt_cache_dir"


def cache_file(cache_dir: Path, codegen, ir_text: str) -> Path:
    """Where the NRT library built from ``ir_text`` for this Numba/llvmlite/Python, CPU and
    optimisation level lives in ``cache_dir`` (the IR holds Numba's NRT debug settings)."""
    key = repr((numba.__version__, llvmlite.__version__, sys.version, codegen.magic_tuple(), numba.config.OPT, ir_text))
    return Path(cache_dir) / f"numba_nrt-{hashlib.sha256(key.encode()).hexdigest()[:16]}.nbo"


def _compile(library, ir_mod):
    """Numba's own NRT compile (:func:`nrtdynmod.compile_nrt_functions`), with the object
    code kept so it can be stored."""
    library.enable_object_caching()
    library.add_ir_module(ir_mod)
    library.finalize()
    return library


def _store(path: Path, state) -> None:
    """Write ``state`` to ``path`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as f:  # mode 0o666 less the umask, as Numba's own cache files
            pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_or_compile(ctx, cache_dir: Path):
    """Return the NRT library for ``ctx``: loaded from ``cache_dir`` if stored, else compiled
    (and stored when ``cache_dir`` is writable)."""
    codegen = ctx.codegen()
    ir_mod, library = nrtdynmod.create_nrt_module(ctx)  # LLVM IR built in Python: cheap
    path = cache_file(cache_dir, codegen, str(ir_mod))
    try:
        return codegen.unserialize_library(pickle.loads(path.read_bytes()))
    except Exception:  # not stored yet, or unreadable: compile as Numba would, store anew
        pass
    library = _compile(library, ir_mod)
    try:
        _store(path, library.serialize_using_object_code())
    except OSError:
        pass  # a read-only install: Numba's kernel cache falls back the same way
    return library


def install(cache_dir: Path) -> None:
    """Make Numba take its NRT library from ``cache_dir`` (idempotent; the first call wins).

    Must run before the first kernel is compiled or loaded: Numba builds the NRT once per
    process, when its CPU target is first refreshed."""
    if not (hasattr(nrtdynmod, "create_nrt_module") and hasattr(nrtdynmod, "compile_nrt_functions")):
        return  # another Numba: leave its NRT compile as it is
    if getattr(nrtdynmod.compile_nrt_functions, _MARK, None) is not None:
        return
    cache_dir = Path(cache_dir)

    def compile_nrt_functions(ctx):
        return load_or_compile(ctx, cache_dir)

    setattr(compile_nrt_functions, _MARK, cache_dir)
    nrtdynmod.compile_nrt_functions = compile_nrt_functions
