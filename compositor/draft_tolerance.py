"""Tolerant decoding of ``draft_content.json`` (pure).

Apps and tools write values the strict model would refuse: ``null`` where a number is
expected (``materials.speeds[].speed: null``), a string where a float belongs, a colour in
an unknown form. Such a value is *cosmetic* unless it is part of the timeline's structure,
so the draft still renders: :func:`decode_tolerant`

1. drops every ``null`` object member (the field then takes the model's default — ``null``
   is how tools say "unset"), except members named in :data:`STRUCTURAL_KEYS`, whose
   ``null`` stays an error;
2. converts the JSON tree to the model; when a value has the wrong type it removes that one
   value (an object member, or a list element) and tries again, recording its JSON path.
   A path through a structural key (``target_timerange``, ``tracks``, ``fps`` …) is not
   removed: the error stands and the draft is ``DRAFT_INVALID``. A material whose ``id`` is
   wrong is removed as a whole, and a segment whose ``material_id`` is wrong names no
   material: both end as a skipped segment with a warning, as JianYing shows missing media.

The recorded paths become ``draft_value`` render warnings (see :mod:`compositor.resolve`).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

# A wrong or null value of one of these keys makes the timeline impossible to build.
STRUCTURAL_KEYS = frozenset(
    {
        "target_timerange",
        "source_timerange",
        "tracks",
        "segments",
        "materials",
        "canvas_config",
        "fps",
    }
)
# ... and so does any wrong value inside one of these.
_STRUCTURAL_SUBTREES = frozenset({"target_timerange", "source_timerange", "canvas_config"})

# Removals tried before giving up (each is one re-conversion of the tree).
MAX_REMOVALS = 200

_AT_PATH = re.compile(r" - at `(?P<path>\$[^`]*)`$")
_TOKEN = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


class Rejected(Exception):
    """A value that cannot be tolerated: ``message`` and the JSON ``path`` of the culprit."""

    def __init__(self, message: str, path: str):
        super().__init__(message)
        self.message = message
        self.path = path


def drop_nulls(node: Any) -> Any:
    """``node`` with ``null`` object members removed (structural keys keep theirs) and
    ``null`` list elements removed; modifies and returns the tree."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            for key in [k for k, v in cur.items() if v is None and k not in STRUCTURAL_KEYS]:
                del cur[key]
            stack.extend(v for v in cur.values() if isinstance(v, (dict, list)))
        elif isinstance(cur, list):
            if any(v is None for v in cur):
                cur[:] = [v for v in cur if v is not None]
            stack.extend(v for v in cur if isinstance(v, (dict, list)))
    return node


def _tokens(path: str) -> list[str | int] | None:
    """``$.a[1].b`` -> ``["a", 1, "b"]``; None when the path has another form."""
    if not path.startswith("$"):
        return None
    out: list[str | int] = []
    pos = 1
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None:
            return None
        out.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    return out


def _remove(tree: Any, tokens: list[str | int]) -> bool:
    """Remove the value at ``tokens`` from ``tree``; False when it is not there."""
    parent = tree
    for tok in tokens[:-1]:
        try:
            parent = parent[tok]
        except (KeyError, IndexError, TypeError):
            return False
    last = tokens[-1]
    if isinstance(parent, dict) and isinstance(last, str) and last in parent:
        del parent[last]
        return True
    if isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        del parent[last]
        return True
    return False


def _structural(tokens: list[str | int]) -> bool:
    """True when the value at ``tokens`` is part of the timeline's structure."""
    names = [t for t in tokens if isinstance(t, str)]
    return bool(names) and (names[-1] in STRUCTURAL_KEYS or any(n in _STRUCTURAL_SUBTREES for n in names))


def _split(exc: msgspec.ValidationError) -> tuple[str, str]:
    text = str(exc)
    m = _AT_PATH.search(text)
    return (text[: m.start()], m.group("path")) if m else (text, "$")


def convert_tolerant(tree: Any, model: type) -> tuple[Any, tuple[str, ...]]:
    """``(model instance, removed value descriptions)`` from the JSON ``tree`` (see module doc).

    Raises :class:`Rejected` for a structural value or when too many values are wrong."""
    drop_nulls(tree)
    removed: list[str] = []
    while True:
        try:
            return msgspec.convert(tree, model, strict=False), tuple(removed)
        except msgspec.ValidationError as exc:
            message, path = _split(exc)
            tokens = _tokens(path)
            if len(removed) >= MAX_REMOVALS:
                raise Rejected(
                    f"more than {MAX_REMOVALS} values of the wrong type; the next one: {message}", path
                ) from exc
            if not tokens or _structural(tokens) or not _remove(tree, tokens):
                raise Rejected(message, path) from exc
            removed.append(f"{path}: {message}")
