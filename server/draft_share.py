"""Downloaded drafts shared through the object store (I/O; runs in worker processes).

A draft is fetched from its origin once per farm, not once per worker: after a worker has
downloaded a draft folder into its cache (``cache/<url-key>/<draft_id>/``), it uploads the
folder as one tar blob ``drafts/<url-key>/<draft_id>.tar``; a worker whose cache lacks the
folder restores it from that blob first. The restored folder then goes through the same
:func:`compositor.fetch.fetch_draft` as a local cache hit, so the validity rules are the local
cache's: the listing and the timeline JSON are fetched again, and a media file is reused only
while the origin announces the same size (and ``Last-Modified``, kept in the tar) — an edited
draft is downloaded again, and its new folder uploaded again.

The caller holds the draft's cache lock (``server.draft_lock.DraftLock``). A marker file
``cache/<url-key>/.<draft_id>.shared`` remembers the digest of the folder last restored or
uploaded, so an unchanged folder is not uploaded again. Sharing is an optimisation: a store
that fails here costs a warning and a download from the origin, never the render. Two
workers that miss at the same moment may both download from the origin (no farm-wide lock).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
import tempfile
import uuid
from pathlib import Path
from typing import Callable, TypeVar

from compositor.draft_folder import CONTENT_NAME, INFO_NAME
from compositor.errors import CompositorError
from compositor.paths import safe_join

from .storage import LocalStorage

log = logging.getLogger(__name__)

T = TypeVar("T")
_TIMELINE = frozenset({CONTENT_NAME, INFO_NAME})


def blob_key(cache_dir: Path, draft_id: str) -> str:
    """``drafts/<url-key>/<draft_id>.tar``: the cache folder's own names, so one origin's
    drafts never collide with another's."""
    return f"drafts/{Path(cache_dir).name}/{draft_id}.tar"


def folder_digest(folder: Path) -> str:
    """What the validity rules look at: every media file's path, size and whole-second mtime,
    and the timeline JSON's bytes (temp ``.part`` files are not part of the draft)."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name.endswith(".part"):
            continue
        rel = p.relative_to(folder).as_posix()
        if p.name in _TIMELINE:  # downloaded again every time: its bytes count, not its date
            h.update(f"{rel}\0".encode() + hashlib.sha256(p.read_bytes()).digest() + b"\n")
        else:
            st = p.stat()
            h.update(f"{rel}\0{st.st_size}\0{int(st.st_mtime)}\n".encode())
    return h.hexdigest()


def share_draft(storage: LocalStorage | None, cache_dir: Path, draft_id: str, fetch: Callable[[], T]) -> T:
    """Run ``fetch`` (which downloads the draft into ``cache_dir/draft_id``) with the shared
    store around it: restore the folder from the store on a cache miss, upload it after the
    fetch when it changed. Without a sharing storage this is just ``fetch()``."""
    if storage is None or not storage.shares_drafts:
        return fetch()
    cache_dir = Path(cache_dir)
    folder = safe_join(cache_dir, draft_id)
    marker = safe_join(cache_dir, f".{draft_id}.shared")
    key = blob_key(cache_dir, draft_id)
    if not folder.is_dir():
        marker.unlink(missing_ok=True)
        _restore(storage, key, cache_dir, folder, marker)
    result = fetch()
    if folder.is_dir():
        digest = folder_digest(folder)
        if not marker.is_file() or marker.read_text() != digest:
            _upload(storage, key, cache_dir, folder, marker, digest)
    return result


def _restore(storage: LocalStorage, key: str, cache_dir: Path, folder: Path, marker: Path) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp_tar = cache_dir / f".{folder.name}.{uuid.uuid4().hex[:12]}.tar.part"
    tmp_dir = cache_dir / f".{folder.name}.{uuid.uuid4().hex[:12]}.restore"
    try:
        if not storage.get_blob(key, tmp_tar):
            return
        with tarfile.open(tmp_tar) as tar:
            tar.extractall(tmp_dir, filter="data")  # no links out, no absolute paths, no devices
        os.rename(tmp_dir, folder)
        marker.write_text(folder_digest(folder))
        log.info("draft %s restored from the shared store", folder.name)
    except (CompositorError, OSError, tarfile.TarError) as exc:
        log.warning("draft %s: shared copy unusable (%s); downloading from the origin", folder.name, exc)
    finally:
        tmp_tar.unlink(missing_ok=True)
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _upload(storage: LocalStorage, key: str, cache_dir: Path, folder: Path, marker: Path, digest: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{folder.name}.", suffix=".tar.part", dir=cache_dir)
    os.close(fd)
    try:
        with tarfile.open(tmp, "w") as tar:
            for p in sorted(folder.rglob("*")):
                if p.is_file() and not p.name.endswith(".part") and not p.is_symlink():
                    tar.add(p, arcname=p.relative_to(folder).as_posix(), recursive=False)
        storage.put_blob(key, Path(tmp))
        marker.write_text(digest)
        log.info("draft %s shared through the store", folder.name)
    except (CompositorError, OSError, tarfile.TarError) as exc:
        log.warning("draft %s: could not share it through the store: %s", folder.name, exc)
    finally:
        os.unlink(tmp)


__all__ = ["share_draft", "blob_key", "folder_digest"]
