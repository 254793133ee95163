"""Download the materials a draft gives as http(s) URLs into its assets folder (I/O)."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Iterable, Mapping

from ..draft_folder import ASSET_KINDS, LocalDraft, is_http_url, strip_invisibles
from ..egress import EgressPolicy
from ..egress_client import EgressClient
from .download import ClientScope, DownloadPool, Progress, ProgressTracker, gather_all
from .limits import FetchLimits
from .sniff import EXT_KIND, KIND_HINTS, material_ext


async def fetch_materials(
    local: LocalDraft,
    urls: Iterable[str],
    *,
    limits: FetchLimits = FetchLimits(),
    policy: EgressPolicy | None = None,
    client: EgressClient | None = None,
    progress: Progress | None = None,
    kinds: Mapping[str, str] | None = None,
) -> dict[str, Path]:
    """Download http(s) material URLs into ``<folder>/assets/<kind>/<sha1(url)><ext>``.

    ``ext`` is sniffed from the content (magic bytes, then Content-Type, then the URL);
    ``kind`` comes from ``kinds[url]`` when given (``video``/``photo``/``audio`` or the folder
    names), else from the sniffed type. A file already present for that URL with the size the
    server announces is reused. Returns ``{url as given: local path}``; non-http(s) entries
    are ignored. Errors: :class:`AssetUnreachable` naming the URL, ``UrlForbidden`` when
    ``policy`` (default permissive) refuses one.
    """
    wanted: dict[str, str] = {}  # url as given -> cleaned url
    for u in urls:
        c = strip_invisibles(u)
        if is_http_url(c):
            wanted[u] = c
    if not wanted:
        return {}
    kinds = kinds or {}
    assets = local.folder / "assets"
    tracker = ProgressTracker(progress)
    results: dict[str, Path] = {}

    async with ClientScope(client, limits, policy) as sess:
        pool = DownloadPool(sess, limits, tracker)

        async def one(clean_url: str, hint: str | None) -> Path:
            key = hashlib.sha1(clean_url.encode("utf-8")).hexdigest()
            existing = None
            for kind in ASSET_KINDS:
                if (assets / kind).is_dir():
                    hits = sorted(h for h in (assets / kind).glob(f"{key}.*") if h.is_file())
                    if hits:
                        existing = hits[0]
                        break
            tmp = assets / f".{key}.{uuid.uuid4().hex[:12]}.download"
            headers: dict = {}
            try:
                got = await pool.download(clean_url, tmp, cached=existing, headers_out=headers)
                if existing is not None and got == existing:
                    return existing
                with open(got, "rb") as fh:
                    head = fh.read(512)
                ext = material_ext(head, headers, clean_url)
                kind = KIND_HINTS.get((hint or "").lower()) or EXT_KIND.get(ext, "videos")
                final = assets / kind / f"{key}{ext}"
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(got, final)
            finally:
                tmp.unlink(missing_ok=True)
            if existing is not None and existing != final:
                existing.unlink(missing_ok=True)
            return final

        by_clean: dict = {}  # cleaned url -> coroutine (one per URL)
        for given, clean_url in wanted.items():
            if clean_url not in by_clean:
                hint = kinds.get(given, kinds.get(clean_url))
                by_clean[clean_url] = one(clean_url, hint)
        paths = await gather_all(by_clean.values())
        done = dict(zip(by_clean.keys(), paths))
        tracker.finish()
    for given, clean_url in wanted.items():
        results[given] = done[clean_url]
    return results
