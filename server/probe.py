"""Probing a draft without rendering it (I/O: downloads the draft, opens its media files).

``POST /v1/probe`` runs the same steps as ``python -m compositor probe`` — fetch (into the
server's draft cache, under the same per-draft lock as a worker), the material-path rule of
:func:`server.drafts.check_material_paths`, parse, media probe and resolve — and answers what
the render would see: canvas, output size/fps/frames, the tracks and their items, the warnings.

:func:`probe_draft` is synchronous and meant for a thread (``run_in_executor``): it never
touches the event loop of the server. Compositor modules are imported on the first call, not
at import.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import msgspec

from .jobs.model import RenderSpec
from .schemas import OutputOptions, WarningOut


class ProbeRequest(msgspec.Struct, kw_only=True):
    """``POST /v1/probe``: exactly one of ``draft_url`` and ``draft``, as for ``POST /v1/renders``."""

    draft_url: str | None = None
    #: an inline ``draft_content.json`` object; its material paths must be http(s) URLs
    draft: dict[str, Any] | None = None
    #: the output options a render would use (size, fps, time range, preview)
    output: OutputOptions = msgspec.field(default_factory=OutputOptions)


class ProbeItem(msgspec.Struct, omit_defaults=True):
    """One thing on a track: a clip, a caption, a filter/effect item or an audio clip."""

    start_s: float
    end_s: float
    kind: str  # "video" | "photo" | "text" | "filter" | "effect" | "audio"
    name: str = ""
    segment_id: str = ""


class ProbeTrack(msgspec.Struct):
    kind: str  # "visual" | "adjustment" | "audio"
    track_id: str
    z: int | None
    items: list[ProbeItem]


class ProbeResult(msgspec.Struct):
    """What a render of the draft with these output options would see."""

    draft_id: str | None
    canvas_width: int
    canvas_height: int
    width: int
    height: int
    fps: str
    frames: int
    #: the whole draft
    duration_s: float
    #: the rendered part (the time range, if one was given)
    output_duration_s: float
    tracks: list[ProbeTrack]
    warnings: list[WarningOut]


PROBE_REQUEST_DECODER = msgspec.json.Decoder(ProbeRequest)


def _s(us: int) -> float:
    return round(us / 1e6, 6)


def describe_timeline(tl, draft_id: str | None) -> ProbeResult:
    """A resolved :class:`compositor.timeline.Timeline` as a :class:`ProbeResult` (pure)."""
    tracks: list[ProbeTrack] = []
    for t in tl.tracks:
        items = []
        for c in t.clips:
            if getattr(c, "kind", "media") == "text":
                kind, name = "text", c.text.layout.text[:80]
            else:
                kind, name = ("photo" if c.is_still else "video"), Path(c.media_key).name
            items.append(
                ProbeItem(
                    start_s=_s(c.target_start_us),
                    end_s=_s(c.target_end_us),
                    kind=kind,
                    name=name,
                    segment_id=c.segment_id,
                )
            )
        tracks.append(ProbeTrack(kind="visual", track_id=t.track_id, z=t.z, items=items))
    for a in tl.adjustments:
        tracks.append(
            ProbeTrack(
                kind="adjustment",
                track_id=a.track_id,
                z=a.z,
                items=[
                    ProbeItem(
                        start_s=_s(c.target_start_us),
                        end_s=_s(c.target_start_us + c.target_duration_us),
                        kind=c.spec.kind,
                        name=c.spec.name,
                        segment_id=c.segment_id,
                    )
                    for c in a.clips
                ],
            )
        )
    if tl.audio_clips:
        tracks.append(
            ProbeTrack(
                kind="audio",
                track_id="",
                z=None,
                items=[
                    ProbeItem(
                        start_s=_s(a.target_start_us),
                        end_s=_s(a.target_end_us),
                        kind="audio",
                        name=Path(a.media_key).name,
                        segment_id=a.segment_id,
                    )
                    for a in tl.audio_clips
                ],
            )
        )
    warnings = [msgspec.convert(msgspec.to_builtins(w), WarningOut) for w in tl.warnings]
    return ProbeResult(
        draft_id=draft_id,
        canvas_width=tl.canvas_width,
        canvas_height=tl.canvas_height,
        width=tl.width,
        height=tl.height,
        fps=f"{tl.fps.numerator}/{tl.fps.denominator}",
        frames=tl.frame_count,
        duration_s=_s(tl.duration_us),
        output_duration_s=_s(tl.output_duration_us),
        tracks=tracks,
        warnings=warnings,
    )


def probe_draft(
    *,
    draft_url: str | None,
    draft_id: str | None,
    inline_draft: bytes | None,
    spec: RenderSpec,
    cache_dir: Path | None,
    work_dir: Path,
    allow_local_paths: bool,
    limits,
    egress,
    fetch_limits,
) -> ProbeResult:
    """Fetch (URL) or write (inline) the draft, check its material paths, probe and resolve it,
    under the server's budgets (``limits``), egress policy and download limits, as a worker does.

    Raises compositor errors (DRAFT_*, ASSET_*) and :class:`server.errors.ApiError` like a
    worker would. ``work_dir`` (inline drafts, local paths) is deleted afterwards."""
    from compositor.draft import parse_draft
    from compositor.fetch import LocalDraft, fetch_draft
    from .draft_lock import DraftLock
    from compositor.pipeline import RenderOptions, open_local

    from .drafts import check_material_paths

    held = contextlib.ExitStack()
    try:
        if inline_draft is not None:
            work_dir.mkdir(parents=True, exist_ok=True)
            content = work_dir / "draft_content.json"
            content.write_bytes(inline_draft)
            local = LocalDraft(None, work_dir, content, "inline")
        elif draft_url is not None and cache_dir is not None:
            lock = held.enter_context(DraftLock(cache_dir, str(draft_id), wait=False))
            # the shared cache when no render holds this draft now; else a private folder
            local = asyncio.run(
                fetch_draft(draft_url, cache_dir if lock.held else work_dir, policy=egress, limits=fetch_limits)
            )
        else:  # a local folder (allow_local_paths only)
            local = asyncio.run(fetch_draft(draft_url or "", work_dir))
        draft = parse_draft(local.content_path.read_bytes(), max_depth=limits.max_json_depth)
        local = check_material_paths(draft, local, allow_local_paths=allow_local_paths)
        options = RenderOptions(
            width=spec.width,
            height=spec.height,
            fps=Fraction(spec.fps) if spec.fps else None,
            start_us=spec.start_us,
            end_us=spec.end_us,
            limits=limits,
            egress=egress,
            fetch_limits=fetch_limits,
        )
        session = open_local(local, options)
        return describe_timeline(session.timeline, draft_id)
    finally:
        held.close()
        if os.path.isdir(work_dir):
            shutil.rmtree(work_dir, ignore_errors=True)


__all__ = [
    "ProbeRequest",
    "ProbeItem",
    "ProbeTrack",
    "ProbeResult",
    "PROBE_REQUEST_DECODER",
    "describe_timeline",
    "probe_draft",
]
