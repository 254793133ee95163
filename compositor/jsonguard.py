"""Guards around JSON decoding (pure): nesting depth of raw text, non-finite numbers.

* :func:`json_depth_error` scans raw JSON text for containers nested deeper than a limit
  *before* it is decoded (msgspec raises ``RecursionError`` on very deep input). It is a
  vectorised NumPy scan (brackets outside strings, summed), so
  it costs about as much as the decode itself; the JSON path of the too-deep value is worked
  out only when the limit is exceeded.
* :func:`find_non_finite` walks a decoded msgspec Struct tree for NaN/±inf floats (the
  draft decoder is lenient and turns the strings ``"nan"``, ``"-inf"``, ``"Infinity"`` … into
  floats; number tokens out of range such as ``1e999`` are refused by msgspec itself).
  :func:`may_hold_non_finite` is its cheap pre-filter on the raw text: no such string, no walk.
"""

from __future__ import annotations

import math
import re

import msgspec
import numpy as np

__all__ = ["json_depth_error", "find_non_finite", "may_hold_non_finite"]

_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{},:]', re.S)
#: a JSON string that a lenient float decoder may read as NaN/±inf ("nan", "-inf", "Infinity" in
#: any case, letters possibly \u-escaped); it over-matches a little ("tiny"), never under-matches
_NON_FINITE_TEXT = re.compile(rb'"(?:-|\\u002[dD])?(?:[nNaAiIfFtTyY]|\\u00[0-9A-Fa-f]{2}){3,8}"')
#: the path of a too-deep value is worked out from at most this many bytes before it
_PATH_SCAN_BYTES = 8 * 1024 * 1024


def json_depth_error(raw: bytes | str, limit: int) -> tuple[int, str] | None:
    """``None`` if no container in ``raw`` is nested deeper than ``limit``; else
    ``(depth, json_path)`` of the first container opened past the limit."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return None
    buf = np.frombuffer(raw, dtype=np.uint8)
    brackets = np.flatnonzero((buf == 0x5B) | (buf == 0x7B) | (buf == 0x5D) | (buf == 0x7D))
    quotes = _unescaped_quotes(buf)
    if len(quotes):  # brackets inside strings do not nest
        brackets = brackets[np.searchsorted(quotes, brackets) % 2 == 0]
    if len(brackets) == 0:
        return None
    kind = buf[brackets]
    depth = np.cumsum(np.where((kind == 0x5B) | (kind == 0x7B), 1, -1).astype(np.int32))
    if int(depth.max()) <= limit:
        return None
    return limit + 1, _path_at(raw, limit + 1)  # the error path only: a token scan of raw


def _unescaped_quotes(buf: np.ndarray) -> np.ndarray:
    """Positions of the ``"`` that open or close strings (not preceded by an odd run of ``\\``)."""
    quotes = np.flatnonzero(buf == 0x22)
    backslashes = np.flatnonzero(buf == 0x5C)
    if len(quotes) == 0 or len(backslashes) == 0:
        return quotes
    # first backslash of every run of backslashes; one pass, whatever the runs' lengths
    run_starts = backslashes[np.r_[True, np.diff(backslashes) > 1]]
    before = quotes - 1
    escaped = (before >= 0) & (buf[np.maximum(before, 0)] == 0x5C)
    run = np.zeros(len(quotes), dtype=np.int64)  # backslashes right before each quote
    ends = before[escaped]
    run[escaped] = ends - run_starts[np.searchsorted(run_starts, ends, side="right") - 1] + 1
    return quotes[run % 2 == 0]


def _path_at(raw: bytes, depth: int) -> str:
    """JSON path of the first container opened at ``depth`` (1 = the top-level value)."""
    stack: list[list] = []  # [kind, key or index]
    scanned = 0
    for m in _TOKEN.finditer(raw):
        scanned = m.end()
        if scanned > _PATH_SCAN_BYTES:
            return "$"
        tok = m.group()
        if tok in (b"[", b"{"):
            if len(stack) + 1 >= depth:
                return _render(stack)
            stack.append([tok, None if tok == b"{" else 0])
        elif tok in (b"]", b"}"):
            if stack:
                stack.pop()
        elif tok == b",":
            if stack and stack[-1][0] == b"[":
                stack[-1][1] += 1
        elif tok == b":":
            pass
        elif stack and stack[-1][0] == b"{":  # a string: a key if a ':' follows
            rest = raw[m.end() : m.end() + 64].lstrip()
            if rest[:1] == b":":
                try:
                    stack[-1][1] = msgspec.json.decode(tok)
                except msgspec.DecodeError:
                    stack[-1][1] = "?"
    return "$"


def _render(stack: list[list]) -> str:
    out = "$"
    for kind, key in stack:
        if kind == b"[":
            out += f"[{key}]"
        elif key is not None:
            out += f".{key}"
    return out


def may_hold_non_finite(raw: bytes | str) -> bool:
    """False when no string of ``raw`` can decode to a non-finite float (then skip the walk)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    return _NON_FINITE_TEXT.search(raw) is not None


def find_non_finite(obj, path: str = "$") -> tuple[str, float] | None:
    """``(json_path, value)`` of the first NaN or ±inf float in a msgspec Struct tree."""
    if isinstance(obj, float):
        return None if math.isfinite(obj) else (path, obj)
    if isinstance(obj, msgspec.Struct):
        for name in obj.__struct_fields__:
            hit = find_non_finite(getattr(obj, name), f"{path}.{name}")
            if hit:
                return hit
        return None
    if isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            if isinstance(item, (float, msgspec.Struct, list, tuple, dict)):
                hit = find_non_finite(item, f"{path}[{i}]")
                if hit:
                    return hit
        return None
    if isinstance(obj, dict):
        for k, v in obj.items():
            hit = find_non_finite(v, f"{path}.{k}")
            if hit:
                return hit
    return None
