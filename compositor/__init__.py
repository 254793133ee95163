"""draft-renderer's compositor: render JianYing/CapCut drafts (as capcut-mate builds them) to MP4.

Library API::

    from compositor import open_draft, render, RenderOptions
    result = render("draft_folder_or_url", "out.mp4", RenderOptions(crf=20))
    for pts_us, rgb in open_draft("draft_folder").frames(): ...

    # chunked: render frame ranges anywhere, then join them by stream copy
    session = open_draft("draft_folder")
    render_range(session, 0, 900, "c0.mp4"); render_range(session, 900, 1800, "c1.mp4")
    join_chunks(["c0.mp4", "c1.mp4"], render_audio(session, "audio.m4a"), "out.mp4")

Importing the package starts nothing (no threads, no JIT compilation, no network), and
loads no pixel code: the render entry points come from :mod:`compositor.pipeline` on first
use (PEP 562), so the pure modules (``compositor.draft``, ``timeline``, ``resolve``, ``plan``,
``effects``) import without Numba or PyAV.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .budgets import Limits
from .errors import (
    AssetUnreachable,
    AudioError,
    Cancelled,
    CompositorError,
    DraftEmpty,
    DraftError,
    DraftNotFound,
    EncodeError,
    LimitExceeded,
    MediaError,
    OptionsError,
    RenderError,
)
from .warnings import RenderWarning

if TYPE_CHECKING:
    from .pipeline import (
        DraftSession,
        Progress,
        RenderOptions,
        RenderResult,
        join_chunks,
        open_draft,
        open_local,
        render,
        render_audio,
        render_range,
    )

# Names served from compositor.pipeline, imported when first asked for.
_PIPELINE_NAMES = frozenset(
    {
        "DraftSession",
        "Progress",
        "RenderOptions",
        "RenderResult",
        "open_draft",
        "open_local",
        "render",
        "render_range",
        "render_audio",
        "join_chunks",
    }
)


def __getattr__(name: str):
    if name in _PIPELINE_NAMES:
        return getattr(importlib.import_module(".pipeline", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "open_draft",
    "open_local",
    "render",
    "render_range",
    "render_audio",
    "join_chunks",
    "RenderOptions",
    "RenderResult",
    "Progress",
    "DraftSession",
    "RenderWarning",
    "CompositorError",
    "DraftError",
    "DraftEmpty",
    "DraftNotFound",
    "AssetUnreachable",
    "MediaError",
    "RenderError",
    "AudioError",
    "EncodeError",
    "Cancelled",
    "OptionsError",
    "Limits",
    "LimitExceeded",
]
