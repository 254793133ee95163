"""What the Numba kernels cost in resident memory (I/O: renders, reads /proc, writes JSON).

Two steps, each in its own process::

    # 1. render a draft in-process, list every kernel dispatcher that got specialisations
    python bench/jit_memory.py list DRAFT --frames 0:120 --out /tmp/sigs.pkl
    # 2. in a fresh process (warm on-disk cache), load those specialisations one by one
    python bench/jit_memory.py load /tmp/sigs.pkl

``load`` prints the resident set (``VmRSS``, ``RssAnon``, ``RssFile`` of /proc/self/status)
after importing Numba, after the first cache load (which also builds Numba's CPU target
context and LLVM's JIT engine), and the growth of each further load, in KiB. Each
specialisation loaded from the on-disk cache is its own code library: an object file
handed to MCJIT plus the bitcode of the function and its callees, kept for inlining into
future callers. The per-load figures separate that per-library cost from the one-off
start-up of the JIT.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pickle
import pkgutil
import time
from typing import Any


def status_kib() -> dict[str, int]:
    """Current VmRSS/RssAnon/RssFile/VmHWM of this process, in KiB."""
    out: dict[str, int] = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[key] = int(rest.split()[0])
    return out


def kernel_dispatchers() -> dict[str, Any]:
    """Every Numba dispatcher defined in ``compositor.kernels.*``, by ``module.name``."""
    from numba.core.dispatcher import Dispatcher

    import compositor.kernels as pkg

    found: dict[str, Any] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
        for name, obj in vars(mod).items():
            if isinstance(obj, Dispatcher) and obj.py_func.__module__ == mod.__name__:
                found[f"{info.name}.{name}"] = obj
    return found


def cmd_list(args: argparse.Namespace) -> None:
    from compositor import RenderOptions, open_draft

    start, _, end = args.frames.partition(":")
    session = open_draft(args.draft, RenderOptions(preset="veryfast", crf=23))
    t0 = time.monotonic()
    session.render(args.output, frames=range(int(start), int(end)))
    wall_s = time.monotonic() - t0
    rows = []
    for key, disp in sorted(kernel_dispatchers().items()):
        if disp.signatures:
            rows.append((key, list(disp.signatures)))
    total = sum(len(s) for _, s in rows)
    print(f"render {args.frames}: {wall_s:.1f} s, {len(rows)} dispatchers, {total} specialisations, {status_kib()}")
    for key, sigs in rows:
        print(f"  {key}: {len(sigs)}")
        for sig in sigs:
            print(f"      {sig}")
    with open(args.out, "wb") as f:
        pickle.dump(rows, f)


def cmd_load(args: argparse.Namespace) -> None:
    import numpy  # noqa: F401  (imported by any render before Numba)

    base = status_kib()
    import numba  # noqa: F401

    after_import = status_kib()
    dispatchers = kernel_dispatchers()
    after_modules = status_kib()
    with open(args.sigs, "rb") as f:
        rows = pickle.load(f)
    steps = []
    for key, sigs in rows:
        disp = dispatchers[key]
        for sig in sigs:
            before = status_kib()
            t0 = time.perf_counter()
            disp.compile(sig)
            ms = (time.perf_counter() - t0) * 1e3
            after = status_kib()
            steps.append(
                {
                    "kernel": key,
                    "sig": str(sig),
                    "ms": round(ms, 1),
                    **{k: after[k] - before[k] for k in ("VmRSS", "RssAnon", "RssFile")},
                }
            )
    end = status_kib()
    first, rest = steps[0], steps[1:]
    summary = {
        "base": base,
        "import_numba": {k: after_import[k] - base[k] for k in base},
        "import_kernels": {k: after_modules[k] - after_import[k] for k in base},
        "first_load": first,
        "other_loads": len(rest),
        "other_loads_kib": {k: sum(s[k] for s in rest) for k in ("VmRSS", "RssAnon", "RssFile")},
        "end": end,
    }
    for s in steps:
        print(
            f"{s['kernel']:32s} {s['ms']:7.1f} ms  rss {s['VmRSS']:6d}  anon {s['RssAnon']:6d}  file {s['RssFile']:6d}  {s['sig'][:80]}"
        )
    print(json.dumps(summary, indent=1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("list", help="render in-process and list the kernels' specialisations")
    p.add_argument("draft")
    p.add_argument("--frames", default="0:120")
    p.add_argument("--output", default="/tmp/jit_memory.mp4")
    p.add_argument("--out", default="/tmp/jit_memory_sigs.pkl")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("load", help="load listed specialisations one by one in a fresh process")
    p.add_argument("sigs")
    p.set_defaults(func=cmd_load)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
