"""Path and name hygiene (file-system reads only: ``resolve`` follows symlinks).

* :func:`is_valid_draft_id`: capcut-mate's draft id shape — letters, digits, ``-`` and ``_``,
  1 to :data:`MAX_DRAFT_ID_CHARS` characters. Anything else never names a folder or a file.
* :func:`safe_join`: the one way a path is built from request or draft data. Each part must
  be relative, free of ``..``, NUL and backslashes; the joined path, with every symlink
  resolved, must stay inside ``root``. A refusal raises :class:`PathEscape`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import AssetUnreachable

__all__ = ["MAX_DRAFT_ID_CHARS", "DRAFT_ID_RE", "is_valid_draft_id", "safe_join", "PathEscape", "is_inside"]

MAX_DRAFT_ID_CHARS = 128
DRAFT_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,%d}" % MAX_DRAFT_ID_CHARS)
_WIN_DRIVE_RE = re.compile(r"^[A-Za-z]:")


class PathEscape(AssetUnreachable):
    """A path built from request or draft data would leave its root folder."""


def is_valid_draft_id(value: object) -> bool:
    return isinstance(value, str) and DRAFT_ID_RE.fullmatch(value) is not None


def is_inside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """``path`` is ``root`` or below it: first by its text alone (an outside path is refused
    without touching the file system, so nothing is learnt about it), then with every
    symlink resolved."""
    text, base = os.path.normpath(os.path.abspath(path)), os.path.normpath(os.path.abspath(root))
    if text != base and not text.startswith(base.rstrip(os.sep) + os.sep):
        return False
    real, real_base = os.path.realpath(text), os.path.realpath(base)
    return real == real_base or real.startswith(real_base.rstrip(os.sep) + os.sep)


def safe_join(root: str | os.PathLike, *parts: str) -> Path:
    """``root / part / …`` after refusing absolute parts, ``..``, NUL, backslashes and drive
    letters, and any result that (symlinks resolved) leaves ``root``."""
    base = Path(root)
    for part in parts:
        text = str(part)
        if (
            not text
            or "\x00" in text
            or "\\" in text
            or text.startswith("/")
            or _WIN_DRIVE_RE.match(text)
            or any(seg == ".." for seg in text.split("/"))
        ):
            raise PathEscape("refusing a path that could leave its folder", text)
    joined = base.joinpath(*parts)
    if not is_inside(joined, base):
        raise PathEscape("refusing a path that leaves its folder", "/".join(str(p) for p in parts))
    return joined
