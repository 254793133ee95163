"""Bidirectional text (pure): UAX #9 embedding levels per paragraph, visual order per line.

* **Levels** (rules P2–P3, X1–X10, W1–W7, N1–N2, I1–I2) come from ``python-bidi``'s
  rule-by-rule implementation (``bidi.algorithm``): its Rust ``get_display`` only returns a
  reordered string of the whole text, but a layout has to break lines on the logical order
  first and reorder each line afterwards, so it needs the levels. That implementation
  predates isolates and bracket pairs: LRI/RLI/FSI…PDI are read as the embeddings
  LRE/RLE…PDF (same nesting, without the isolation from their surroundings), and paired
  brackets are resolved as ordinary neutrals (N1/N2, no N0) — both rare in captions.
* **Per line** (:func:`visual_order`): L1 (trailing whitespace and segment separators go
  back to the paragraph level) and L2 (reverse every run at level ≥ k, from the highest
  level down to the lowest odd one). Mirroring (L3/L4) is left to HarfBuzz, which mirrors
  brackets in right-to-left runs by itself.

A paragraph without right-to-left characters is not run through the algorithm at all: its
levels are all 0 and its order is the logical one (:func:`paragraph_levels` returns None).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from bidi import algorithm as _uax9

_RTL_TRIGGERS = {"R", "AL", "RLE", "RLO", "RLI", "FSI"}
_KNOWN = {
    "L",
    "R",
    "AL",
    "EN",
    "ES",
    "ET",
    "AN",
    "CS",
    "NSM",
    "BN",
    "B",
    "S",
    "WS",
    "ON",
    "LRE",
    "LRO",
    "RLE",
    "RLO",
    "PDF",
}
_TRAILING = {"WS", "LRI", "RLI", "FSI", "PDI", "BN", "LRE", "RLE", "LRO", "RLO", "PDF"}


def needs_bidi(text: str) -> bool:
    """True when the text has a character that can make a right-to-left run."""
    return any(unicodedata.bidirectional(c) in _RTL_TRIGGERS for c in text)


def paragraph_levels(text: str) -> tuple[int, list[int]] | None:
    """(paragraph level, resolved embedding level per code point) of one paragraph.

    ``text`` holds no paragraph separators. None when nothing in it is right-to-left (all
    levels 0, logical order).
    """
    if not needs_bidi(text):
        return None
    storage = _uax9.get_empty_storage()
    base = _uax9.get_base_level(text)
    storage["base_level"] = base
    storage["base_dir"] = "LR"[base]
    _uax9.get_embedding_levels(text, storage)
    chars = list(storage["chars"])  # the same dicts survive X9's filtering
    _isolates_as_embeddings(chars)
    try:
        _uax9.explicit_embed_and_overrides(storage)
        _uax9.resolve_weak_types(storage, False)
        _uax9.resolve_neutral_types(storage, False)
        _uax9.resolve_implicit_levels(storage, False)
    except AssertionError:  # a class the old rules do not know: strong types only
        return base, [_strong_level(unicodedata.bidirectional(c), base) for c in text]
    kept = {id(c) for c in storage["chars"]}
    levels: list[int] = []
    for c in chars:  # removed by X9 (embedding controls, BN): previous level
        levels.append(c["level"] if id(c) in kept or not levels else levels[-1])
    return base, levels


def _isolates_as_embeddings(chars: list[dict]) -> None:
    for i, c in enumerate(chars):
        t = c["type"]
        if t == "LRI":
            c["type"] = "LRE"
        elif t == "RLI":
            c["type"] = "RLE"
        elif t == "FSI":
            c["type"] = "RLE" if _first_strong_is_rtl(chars, i + 1) else "LRE"
        elif t == "PDI":
            c["type"] = "PDF"
        elif t not in _KNOWN:
            c["type"] = "ON"


def _first_strong_is_rtl(chars: list[dict], start: int) -> bool:
    depth = 0
    for c in chars[start:]:
        t = c["orig"]
        if t in ("LRI", "RLI", "FSI"):
            depth += 1
        elif t == "PDI":
            if depth == 0:
                return False
            depth -= 1
        elif depth == 0 and t in ("L", "R", "AL"):
            return t != "L"
    return False


def _strong_level(t: str, base: int) -> int:
    if t in ("R", "AL"):
        return 1
    if t in ("L", "EN", "AN"):
        return base + (base & 1)
    return base


def visual_order(chars: Sequence[str], levels: Sequence[int], base: int) -> list[int]:
    """Indices of one line's characters in visual (left-to-right) order: rules L1 and L2."""
    n = len(chars)
    lv = list(levels)
    # L1: segment separators, and whitespace before them or at the end of the line
    trailing = True
    for i in range(n - 1, -1, -1):
        t = unicodedata.bidirectional(chars[i])
        if t in ("S", "B"):
            lv[i] = base
            trailing = True
        elif trailing and t in _TRAILING:
            lv[i] = base
        else:
            trailing = False
    order = list(range(n))
    if not lv:
        return order
    hi = max(lv)
    lo_odd = min((v for v in lv if v & 1), default=None)
    if lo_odd is None:
        return order
    for k in range(hi, lo_odd - 1, -1):
        i = 0
        while i < n:
            if lv[order[i]] >= k:
                j = i
                while j < n and lv[order[j]] >= k:
                    j += 1
                order[i:j] = order[i:j][::-1]
                i = j
            else:
                i += 1
    return order


__all__ = ["needs_bidi", "paragraph_levels", "visual_order"]
