"""Importing the packages starts nothing: no JIT compilation, no threads, no network client."""

import subprocess
import sys

CHECK = r"""
import sys, threading
import compositor, compositor.cli, server.app, server.__main__
import numba.core.registry
from numba.core.dispatcher import Dispatcher
compiled = []
for name, mod in list(sys.modules.items()):
    if not (name.startswith("compositor") or name.startswith("server")):
        continue
    for attr, obj in vars(mod).items():
        if isinstance(obj, Dispatcher) and obj.signatures:
            compiled.append(f"{name}.{attr}")
print("compiled:", compiled)
print("threads:", threading.active_count())
"""


def test_import_compiles_nothing_and_starts_no_thread():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True).stdout
    assert "compiled: []" in out, out
    assert "threads: 1" in out, out


def test_compositor_alone_does_not_load_the_http_client():
    code = "import sys, compositor, compositor.cli; print(any(m.startswith('aiohttp') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
