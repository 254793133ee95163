"""Media catalogue (I/O): find, probe and pre-load every file a draft uses.

For each video/photo/audio material that a segment references, resolve its path with the
draft's rules (fetch.LocalDraft.resolve_material), download http(s) materials, probe the
file by content (never by extension), and decode stills once into YUVA planes. The result
feeds the pure timeline (``facts``) and the compositor (``stills``).

JPEG photos are not decoded here (with ``defer_stills``, the default): their header gives
the facts (display size; opaque), and the picture pool decodes each one shortly before it
is drawn and drops it after (``deferred``), so memory holds the photos near the playhead,
not all of them. A photo whose data turns out to be corrupt then fails the render when it
is first needed (``ASSET_DECODE_FAILED``), not at open.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from . import compound
from .budgets import Limits, StillBudget
from .draft import Draft
from .errors import AssetUnreachable
from .draft_folder import LocalDraft
from .media.planes import Planes
from .media.probe import MediaInfo, probe_media
from .pixel_gate import PixelGate
from .still_planes import DeferredStill, defer_still, load_still_planes, still_planes
from .timeline import MediaFacts

__all__ = ["MediaCatalog", "build_catalog", "still_planes", "DECODE_BUDGET_PX"]

#: pixels of stills decoded at once by default (two 12 MP photos; ≈ 5.5 bytes a pixel)
DECODE_BUDGET_PX = 24_000_000


@dataclass
class MediaCatalog:
    facts: dict[str, MediaFacts]  # material id -> facts
    stills: dict[str, Planes] = field(default_factory=dict)  # media path -> planes
    infos: dict[str, MediaInfo] = field(default_factory=dict)  # media path -> probe result
    #: media path -> a photo decoded on demand (the picture pool keeps it for its window)
    deferred: dict[str, DeferredStill] = field(default_factory=dict)

    def still(self, path: str) -> Planes:
        """The planes of a still: decoded at open, or (deferred) decoded now, not kept."""
        planes = self.stills.get(path)
        return planes if planes is not None else self.deferred[path].decode()


def build_catalog(
    draft: Draft,
    local: LocalDraft,
    *,
    limits: Limits = Limits(),
    workers: int = 4,
    decode_budget_px: int = DECODE_BUDGET_PX,
    defer_stills: bool = True,
    sticker_table=None,
    egress=None,
    fetch_limits=None,
) -> MediaCatalog:
    """Probe every media file the draft's segments use; decode stills once.

    Stills are charged to a :class:`~compositor.budgets.StillBudget` from their headers,
    before their pixels are decoded (per image and in total: ``LIMIT_EXCEEDED``). At most
    ``decode_budget_px`` pixels are decoded at once (one larger image alone), which bounds
    the memory the ``workers`` threads take (:class:`~compositor.pixel_gate.PixelGate`).
    ``defer_stills``: JPEG photos are only opened here, decoded when drawn (module docstring).

    Optional images (sticker artwork, canvas images; see :mod:`compositor.stickers`) are
    loaded when they can be; their facts are keyed by the sticker / canvas material id.
    ``sticker_table``: ``{resource_id: image}`` mapping or JSON file, or None.
    ``egress`` / ``fetch_limits``: the EgressPolicy and FetchLimits of every download
    (None: permissive, defaults)."""

    def fetch_materials(local_draft, urls):
        from .fetch import FetchLimits, fetch_materials as fetch  # the HTTP client only when needed

        return fetch(local_draft, urls, policy=egress, limits=fetch_limits or FetchLimits())

    # Drafts nested in compound clips share the catalogue (keyed by material id; their
    # files resolve against the same draft folder).
    wanted: dict[str, tuple[str, str]] = {}  # material id -> (raw path, resolved)
    for _, mat in compound.file_materials(draft):
        if mat.id not in wanted:
            wanted[mat.id] = (mat.path, local.resolve_material(mat.path))
    urls = sorted({r for _, r in wanted.values() if r.startswith(("http://", "https://"))})
    downloaded = {}
    if urls:
        import asyncio  # only for downloads (asyncio + ssl: ~3 MB, 25 ms of imports)

        downloaded = asyncio.run(fetch_materials(local, urls))
    paths: dict[str, tuple[str, str]] = {}
    for mid, (raw, resolved) in wanted.items():
        local_path = str(downloaded.get(resolved, resolved))
        if not local_path or not os.path.isfile(local_path):
            raise AssetUnreachable("media file not found", raw or f"<empty path of material {mid}>")
        paths[mid] = (raw, local_path)

    unique = sorted({p for _, p in paths.values()})
    budget = StillBudget(limits)
    gate = PixelGate(decode_budget_px)

    def decode_still(path: str) -> Planes:
        return load_still_planes(
            path, max_pixels=limits.max_still_pixels, on_size=lambda w, h: budget.charge(path, w, h), admit=gate
        )

    def open_still(path: str) -> Planes | DeferredStill:
        if defer_stills:
            deferred = defer_still(path, limits.max_still_pixels, on_size=lambda w, h: budget.charge(path, w, h))
            if deferred is not None:
                return deferred
        return decode_still(path)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        infos = dict(zip(unique, pool.map(probe_media, unique)))
        still_paths = [p for p in unique if infos[p].kind == "image"]
        opened = dict(zip(still_paths, pool.map(open_still, still_paths)))
    stills = {p: s for p, s in opened.items() if isinstance(s, Planes)}
    deferred = {p: s for p, s in opened.items() if isinstance(s, DeferredStill)}

    facts: dict[str, MediaFacts] = {}
    for mid, (_, path) in paths.items():
        info = infos[path]
        still = opened.get(path)
        facts[mid] = MediaFacts(
            path=path,
            kind=info.kind,
            width=still.width if still is not None else info.width,
            height=still.height if still is not None else info.height,
            coded_width=still.width if still is not None else info.coded_width,
            coded_height=still.height if still is not None else info.coded_height,
            rotation=0 if still is not None else info.rotation,
            duration_us=info.duration_us,
            has_video=info.has_video,
            has_audio=info.has_audio,
            has_alpha=bool(info.has_alpha) if still is None else isinstance(still, Planes) and still.a is not None,
        )
    for level in (draft, *compound.nested_drafts(draft)):
        _add_optional_images(level, local, facts, stills, sticker_table, decode_still, fetch_materials)
    return MediaCatalog(facts=facts, stills=stills, infos=infos, deferred=deferred)


def _add_optional_images(
    draft: Draft, local: LocalDraft, facts: dict, stills: dict, sticker_table, decode_still, fetch_materials
) -> None:
    from . import stickers

    table = stickers.load_sticker_table(sticker_table)
    loaded = stickers.load_images(draft, local, table, fetch=fetch_materials, loader=decode_still)
    for mid, (path, planes) in loaded.items():
        stills[path] = planes
        facts[mid] = MediaFacts(
            path=path,
            kind="image",
            width=planes.width,
            height=planes.height,
            coded_width=planes.width,
            coded_height=planes.height,
            has_alpha=planes.a is not None,
        )
