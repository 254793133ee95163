"""Script itemisation (pure): the Unicode script of every code point, for font choice and shaping.

Each code point gets an ISO 15924 code (``"Latn"``, ``"Arab"``, ``"Hani"`` …) from its
Script_Extensions property (``unicodedataplus``). Characters shared by several scripts
(Common: spaces, digits, punctuation; Inherited: combining marks) take the script of the
run they sit in — the previous character's in the same paragraph, or, at a paragraph start,
the next one's — unless their extensions name a different bundled script (an Arabic comma
after Latin text is still Arabic). A paragraph with no script of its own stays ``""``
(the layout then uses the chain's default order).
"""

from __future__ import annotations

from collections.abc import Iterable

import unicodedataplus

from .fonts import SCRIPT_ROLES

_NEUTRAL = {"Zyyy", "Zinh", "Zzzz"}


def _own_script(ch: str) -> tuple[str, tuple[str, ...]]:
    """(the script when the character has exactly one, else ""; its script extensions)."""
    if unicodedataplus.script(ch) == "Inherited":
        return "", ()  # marks and joiners: always the run's script
    scx = tuple(unicodedataplus.script_extensions(ch))
    if len(scx) == 1 and scx[0] not in _NEUTRAL:
        return scx[0], scx
    return "", tuple(s for s in scx if s not in _NEUTRAL)


def char_scripts(text: str, breaks: Iterable[str] = ("\n",)) -> list[str]:
    """ISO 15924 script per code point of ``text`` (see the module doc); ``breaks`` end paragraphs."""
    stops = set(breaks)
    own = [_own_script(c) for c in text]
    out = [s for s, _ in own]
    start = 0
    n = len(text)
    while start <= n:
        end = start
        while end < n and text[end] not in stops:
            end += 1
        _resolve_paragraph(own, out, start, end)
        start = end + 1
    return out


def _resolve_paragraph(own, out: list[str], a: int, b: int) -> None:
    prev = ""
    pending: list[int] = []  # neutrals before the paragraph's first script
    for i in range(a, b):
        script, scx = own[i]
        if script:
            prev = script
            for j in pending:
                out[j] = _neutral_script(own[j][1], script)
            pending = []
            continue
        if prev:
            out[i] = _neutral_script(scx, prev)
        else:
            pending.append(i)
    for j in pending:  # a paragraph without a script of its own
        out[j] = _neutral_script(own[j][1], "")


def _neutral_script(scx: tuple[str, ...], around: str) -> str:
    if not scx or around in scx:
        return around
    bundled = [s for s in scx if s in SCRIPT_ROLES]
    if bundled and SCRIPT_ROLES.get(around) not in {SCRIPT_ROLES[s] for s in bundled}:
        return bundled[0]
    return around


__all__ = ["char_scripts"]
