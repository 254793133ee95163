"""Where a draft lives on this machine (local file access only; no network).

:class:`LocalDraft` names a draft folder and its ``draft_content.json``, and maps the media
paths written inside the JSON onto local files (``docs/format.md#media-paths``,
``docs/format.md#fetching-a-draft-url``). :func:`local_draft` opens a local folder or JSON path.
Downloading a ``draft_url`` is :mod:`compositor.fetch`'s job (it returns a LocalDraft too).
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .errors import AssetUnreachable, DraftNotFound

__all__ = ["LocalDraft", "local_draft", "draft_id_from_url", "CONTENT_NAME", "INFO_NAME"]

CONTENT_NAME = "draft_content.json"
INFO_NAME = "draft_info.json"

_ZERO_WIDTH = "\ufeff\u200b\u200c\u200d"
_PLACEHOLDER_RE = re.compile(r"##_draftpath_placeholder_.*?_##")
_CM_ID_SEGMENT_RE = re.compile(r"^\d{8,}")  # capcut-mate's draft-id recogniser (len >= 10)
WIN_DRIVE_RE = re.compile(r"^[A-Za-z]:(/|$)")
ASSET_KINDS = ("videos", "images", "audios")


def draft_id_from_url(url: str) -> str | None:
    """The first ``draft_id`` query value of ``url`` (``parse_qs``, like capcut-mate), or None."""
    try:
        values = parse_qs(urlsplit(url.strip()).query).get("draft_id")
    except ValueError:
        return None
    return values[0] if values and values[0] else None


def looks_like_draft_id(name: str) -> bool:
    """capcut-mate's recogniser: starts with >= 8 digits and is >= 10 chars long."""
    return bool(_CM_ID_SEGMENT_RE.match(name)) and len(name) >= 10


def strip_invisibles(raw: str) -> str:
    """Strip zero-width characters (anywhere) and surrounding whitespace."""
    return raw.translate({ord(c): None for c in _ZERO_WIDTH}).strip()


def is_http_url(s: str) -> bool:
    return s[:7].lower() == "http://" or s[:8].lower() == "https://"


@dataclass(frozen=True)
class LocalDraft:
    draft_id: str | None
    folder: Path  # local folder holding draft_content.json and the assets
    content_path: Path  # the JSON to read (draft_info.json when only that exists)
    source: str  # what the user gave (URL or path)

    def _effective_id(self) -> str | None:
        if self.draft_id:
            return self.draft_id
        name = self.folder.name
        return name if looks_like_draft_id(name) else None

    def _inside(self, rel: str, raw: str) -> str:
        norm = posixpath.normpath(rel.lstrip("/")) if rel.strip("/") else "."
        if norm == ".." or norm.startswith("../") or norm.startswith("/"):
            raise AssetUnreachable("material path escapes the draft folder", raw)
        return str(self.folder) if norm == "." else str(self.folder / norm)

    def _may_probe(self, path: str) -> bool:
        """Whether rule 5 may look at an absolute path on this machine (a confined draft
        never probes paths outside its folder: no existence oracle)."""
        return True

    def resolve_material(self, raw_path: str) -> str:
        """Map a media path written in the draft to a local file path or an http(s) URL.

        Rules (first match wins), after stripping zero-width characters and spaces and turning
        ``\\`` into ``/``:
        1. ``http(s)://`` URL → returned unchanged (see :func:`fetch_materials`);
        2. ``##_draftpath_placeholder_<…>_##`` prefix → the draft folder;
        3. contains ``/<draft_id>/`` → the remainder, inside the draft folder (the folder's
           name serves as draft id for local drafts when it looks like one);
        4. relative path → resolved against the draft folder;
        5. otherwise the absolute path as is — unless it does not exist (or may not be
           looked at, :meth:`_may_probe`) and ``assets/{videos,images,audios}/<basename>``
           exists in the folder.
        Raises :class:`AssetUnreachable` if a mapped path would escape the folder.
        """
        s = strip_invisibles(raw_path)
        if not s:
            return s
        if is_http_url(s):
            return s
        if s[:7].lower() == "file://":
            s = unquote(s[7:])
        p = s.replace("\\", "/")

        m = _PLACEHOLDER_RE.search(p)
        if m:
            return self._inside(p[m.end() :], raw_path)

        did = self._effective_id()
        if did:
            marker = f"/{did}/"
            idx = ("/" + p).find(marker)
            if idx >= 0:
                return self._inside(("/" + p)[idx + len(marker) :], raw_path)

        if not p.startswith("/") and not WIN_DRIVE_RE.match(p):
            return str(self.folder / posixpath.normpath(p))

        if not self._may_probe(p) or not os.path.exists(p):
            base = posixpath.basename(p.rstrip("/"))
            if base:
                for kind in ASSET_KINDS:
                    cand = self.folder / "assets" / kind / base
                    if cand.is_file():
                        return str(cand)
        return p


def local_draft(source: str) -> LocalDraft:
    """A local draft folder, or the folder of a ``draft_content.json`` / ``draft_info.json`` path."""
    p = Path(source).expanduser().absolute()
    if p.is_dir():
        for name in (CONTENT_NAME, INFO_NAME):
            if (p / name).is_file():
                return LocalDraft(None, p, p / name, source)
        raise DraftNotFound(f"no {CONTENT_NAME} or {INFO_NAME} in the draft folder", source)
    if p.is_file():
        return LocalDraft(None, p.parent, p, source)
    raise DraftNotFound("draft path does not exist", source)
