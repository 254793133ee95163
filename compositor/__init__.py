"""draft-renderer's compositor: render JianYing/CapCut drafts (as capcut-mate builds them) to MP4.

Library API::

    from compositor import open_draft, render, RenderOptions
    result = render("draft_folder_or_url", "out.mp4", RenderOptions(crf=20))
    for pts_us, rgb in open_draft("draft_folder").frames(): ...

Importing the package starts nothing (no threads, no JIT compilation, no network).
"""
from .budgets import Limits
from .errors import (AssetUnreachable, AudioError, Cancelled, CompositorError, DraftEmpty, DraftError,
                     DraftNotFound, EncodeError, LimitExceeded, MediaError, OptionsError, RenderError)
from .pipeline import DraftSession, Progress, RenderOptions, RenderResult, open_draft, open_local, render
from .warnings import RenderWarning

__all__ = [
    "open_draft", "open_local", "render", "RenderOptions", "RenderResult", "Progress", "DraftSession", "RenderWarning",
    "CompositorError", "DraftError", "DraftEmpty", "DraftNotFound", "AssetUnreachable", "MediaError",
    "RenderError", "AudioError", "EncodeError", "Cancelled", "OptionsError", "Limits", "LimitExceeded",
]
