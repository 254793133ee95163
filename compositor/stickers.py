"""Stickers and other optional images (docs/format.md#stickers): where their pictures come from (I/O).

JianYing stickers are online artwork known only by ``resource_id``. A sticker is drawn
when its image can be had:

1. a ``path`` in the sticker material (a file in or outside the draft folder, or an
   http(s) URL) — not written by capcut-mate, but hand-made drafts can carry one;
2. a **sticker table** the user supplies: a JSON object ``{resource_id: image path or URL}``
   (relative paths are relative to the table file), passed as
   ``RenderOptions(sticker_table=…)`` / ``--sticker-table``.

Otherwise the sticker draws nothing and the render reports it. A drawn sticker is a
still (animated stickers degrade to their first frame) whose longer side is ⅓ of
``min(W, H)`` at scale 1 (uncalibrated, docs/format.md#stickers; :mod:`compositor.effects.stickers`),
then its clip transform applies.

Canvas images (``canvas_image`` backgrounds, field ``image``) load the same way. Images
that cannot be fetched or decoded are left out (the timeline warns); they never fail
the render.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

from .draft import Draft
from .errors import CompositorError, DraftError, LimitExceeded


def load_sticker_table(source: str | os.PathLike | Mapping[str, str] | None) -> dict[str, str]:
    """``{resource_id: image path or URL}`` from a mapping or a JSON file (None → empty)."""
    if source is None:
        return {}
    if isinstance(source, Mapping):
        return {str(k): str(v) for k, v in source.items()}
    path = Path(source)
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise DraftError(f"cannot read sticker table {path}: {exc}", "$") from exc
    if not isinstance(data, dict):
        raise DraftError(f"sticker table {path} must be a JSON object of resource_id → image", "$")
    out = {}
    for k, v in data.items():
        v = str(v)
        if not v.startswith(("http://", "https://")) and not os.path.isabs(v):
            v = str(path.parent / v)
        out[str(k)] = v
    return out


def sticker_source(material, table: Mapping[str, str]) -> str:
    """Where a sticker material's image comes from ('' when nowhere)."""
    if getattr(material, "path", ""):
        return material.path
    for key in (material.resource_id, getattr(material, "sticker_id", "")):
        if key and key in table:
            return table[key]
    return ""


def wanted_images(draft: Draft, table: Mapping[str, str]) -> dict[str, str]:
    """material id → raw image source, for stickers on sticker tracks and canvas images."""
    out: dict[str, str] = {}
    used = {seg.material_id for t in draft.tracks if t.type == "sticker" for seg in t.segments}
    for m in draft.materials.stickers:
        if m.id in used:
            src = sticker_source(m, table)
            if src:
                out[m.id] = src
    for c in draft.materials.canvases:
        if c.type == "canvas_image" and c.image:
            out[c.id] = c.image
    return out


def load_images(draft: Draft, local, table: Mapping[str, str], *, loader, fetch) -> dict[str, tuple[str, object]]:
    """material id → (local path, decoded picture) for every optional image that loads.

    ``loader(path)`` decodes a file into planes; ``fetch(local, urls)`` downloads URLs
    (an awaitable returning ``{url: path}``). Failures leave the image out.
    """
    wanted = wanted_images(draft, table)
    if not wanted:
        return {}
    resolved: dict[str, str] = {}
    for mid, raw in wanted.items():
        try:
            resolved[mid] = local.resolve_material(raw)
        except CompositorError:
            continue
    urls = sorted({r for r in resolved.values() if r.startswith(("http://", "https://"))})
    downloaded: dict = {}
    for url in urls:  # one by one: a failing URL must not sink the others
        import asyncio  # only for downloads (asyncio + ssl: ~3 MB of imports)

        try:
            downloaded.update(asyncio.run(fetch(local, [url])))
        except CompositorError:
            continue
    out: dict[str, tuple[str, object]] = {}
    cache: dict[str, object] = {}
    for mid, r in resolved.items():
        path = str(downloaded.get(r, r))
        if not path or not os.path.isfile(path):
            continue
        if path not in cache:
            try:
                cache[path] = loader(path)
            except LimitExceeded:
                raise  # a budget ends the render, it does not drop a layer
            except CompositorError:
                cache[path] = None
        if cache[path] is not None:
            out[mid] = (path, cache[path])
    return out
