"""Fetch a capcut-mate draft, or open a local one (I/O).

:func:`fetch_draft` accepts three kinds of ``source``:

* a capcut-mate ``draft_url`` — the ``get_draft`` endpoint itself, carrying ``?draft_id=``.
  Its listing (:mod:`compositor.fetch.listing`) is downloaded file by file into
  ``<cache_dir>/<draft_id>/``;
* a local draft folder (used in place, nothing is copied);
* a path to ``draft_content.json`` (or ``draft_info.json``) inside a draft folder.

The draft JSON is *not* parsed here (see :class:`compositor.draft_folder.LocalDraft`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

from ..draft_folder import (
    CONTENT_NAME,
    INFO_NAME,
    LocalDraft,
    draft_id_from_url,
    is_http_url,
    local_draft,
    strip_invisibles,
)
from ..egress import EgressPolicy, public_url
from ..egress_client import EgressClient
from ..errors import AssetUnreachable, DraftNotFound
from ..paths import is_valid_draft_id, safe_join
from .download import ClientScope, DownloadPool, Progress, ProgressTracker, gather_all
from .limits import FetchLimits
from .listing import get_listing, rel_path_for

_TIMELINE = frozenset({CONTENT_NAME, INFO_NAME})


async def fetch_draft(
    source: str,
    cache_dir: Path,
    *,
    limits: FetchLimits = FetchLimits(),
    policy: EgressPolicy | None = None,
    client: EgressClient | None = None,
    progress: Progress | None = None,
) -> LocalDraft:
    """Make the draft available locally and say where it is (see the module docstring).

    ``policy``: what the requests may reach (default permissive); ``client``: an
    :class:`EgressClient` to use instead of a new one (its policy applies)."""
    source = str(source)
    src = strip_invisibles(source)
    if not is_http_url(src):
        return local_draft(src)

    shown = public_url(src)
    draft_id = draft_id_from_url(src)
    if draft_id is None:
        raise DraftNotFound("draft_url has no draft_id query parameter", shown)
    if not is_valid_draft_id(draft_id):
        raise DraftNotFound("draft_id is not a valid folder name", shown)

    folder = safe_join(Path(cache_dir).expanduser().absolute(), draft_id)
    async with ClientScope(client, limits, policy) as sess:
        files = await get_listing(sess, src, limits)

        plan: dict[str, str] = {}  # rel path -> URL (first listing wins)
        for f in files:
            f = strip_invisibles(f)
            if not is_http_url(f):
                raise AssetUnreachable("listed file is not an http(s) URL", public_url(f))
            rel = rel_path_for(f, draft_id)
            if rel is None:
                raise AssetUnreachable("refusing listed file whose path escapes the draft folder", public_url(f))
            plan.setdefault(rel, f)
        has_content = CONTENT_NAME in plan
        if not has_content and INFO_NAME not in plan:
            raise DraftNotFound(f"get_draft lists no {CONTENT_NAME} or {INFO_NAME}", shown)
        if has_content:
            plan.pop(INFO_NAME, None)

        folder.mkdir(parents=True, exist_ok=True)
        root = folder.resolve()
        for rel, url in plan.items():  # symlinks left in an old cache must not lead out
            try:
                (folder / rel).resolve().relative_to(root)
            except ValueError:
                raise AssetUnreachable(
                    "refusing listed file whose path escapes the draft folder", public_url(url)
                ) from None

        tracker = ProgressTracker(progress)
        pool = DownloadPool(sess, limits, tracker)
        # The timeline JSON is always downloaded again (an edited draft may keep its size);
        # other files are reused when their size matches.
        await gather_all(
            pool.download(url, folder / rel, cached=None if rel in _TIMELINE else folder / rel)
            for rel, url in plan.items()
        )
        tracker.finish()

    if has_content:
        content = folder / CONTENT_NAME
        tmp = folder / f".{INFO_NAME}.{uuid.uuid4().hex[:12]}.part"
        try:
            shutil.copyfile(content, tmp)
            os.replace(tmp, folder / INFO_NAME)
        finally:
            tmp.unlink(missing_ok=True)
        return LocalDraft(draft_id, folder, content, src)
    return LocalDraft(draft_id, folder, folder / INFO_NAME, src)


def fetch_draft_sync(source, cache_dir, **kw) -> LocalDraft:
    """``asyncio.run`` wrapper of :func:`fetch_draft` for the CLI (local sources need no loop)."""
    src = strip_invisibles(str(source))
    if not is_http_url(src):
        return local_draft(src)
    return asyncio.run(fetch_draft(source, cache_dir, **kw))
