"""Typed errors of the compositor and their stable codes (pure, no I/O).

Every failure a user can see is one of these classes. Each carries the context that
locates it (a JSON path, a URL, a frame index) and a stable ``code`` string; the
HTTP service maps codes to statuses in one place. Nothing is classified by message text.
"""

from __future__ import annotations


class CompositorError(Exception):
    """Base class: ``code`` is stable and machine-readable, ``str(err)`` is for humans."""

    code = "RENDER_FAILED"

    def detail(self) -> dict:
        """Structured context for logs, job records and API error bodies."""
        return {}


class DraftError(CompositorError):
    """The draft JSON is malformed or inconsistent. ``json_path`` points at the culprit."""

    code = "DRAFT_INVALID"

    def __init__(self, message: str, json_path: str = "$"):
        super().__init__(f"{message} (at {json_path})")
        self.message = message
        self.json_path = json_path

    def detail(self) -> dict:
        return {"json_path": self.json_path}


class DraftEncrypted(DraftError):
    """``draft_content.json`` is encrypted (JianYing 6+), so its timeline cannot be read."""

    code = "DRAFT_ENCRYPTED"

    def __init__(self, json_path: str = "$"):
        super().__init__(
            "draft_content.json is encrypted (JianYing 6 and later save drafts encrypted); the "
            "renderer needs a plain-JSON draft: open and save the project with JianYing 5.9 or "
            "older or with CapCut, or build the draft with capcut-mate, which writes plain JSON",
            json_path,
        )


class DraftEmpty(DraftError):
    """The draft has nothing to render (no segment, or zero duration)."""

    code = "DRAFT_EMPTY"


class _UrlError(CompositorError):
    """An error about a location: ``url`` (URL or path) and, for HTTP, the ``status``."""

    def __init__(self, message: str, url: str, status: int | None = None):
        super().__init__(f"{message}: {url}" + (f" (HTTP {status})" if status else ""))
        self.url = url
        self.status = status

    def detail(self) -> dict:
        return {"url": self.url, "status": self.status}


class DraftNotFound(_UrlError):
    """The draft location does not exist (404 / ``code != 0`` from get_draft, missing folder)."""

    code = "DRAFT_NOT_FOUND"


class AssetUnreachable(_UrlError):
    """A file the draft needs could not be downloaded or found on disk."""

    code = "ASSET_UNREACHABLE"


class UrlForbidden(CompositorError):
    """The egress policy refuses a URL (compositor.egress): its host is or resolves to a
    loopback/private/… address not on the allowlist, its scheme is not http(s), or it
    redirects too often. ``url`` carries no userinfo; ``host`` is the host named."""

    code = "URL_FORBIDDEN"

    def __init__(self, message: str, url: str, host: str = ""):
        super().__init__(f"{message}: {url}")
        self.message = message
        self.url = url
        self.host = host

    def detail(self) -> dict:
        return {"url": self.url, "host": self.host}


class MediaError(CompositorError):
    """A media file exists but cannot be decoded (``url`` is its path or URL)."""

    code = "ASSET_DECODE_FAILED"

    def __init__(self, message: str, url: str):
        super().__init__(f"{message}: {url}")
        self.url = url

    def detail(self) -> dict:
        return {"url": self.url}


class RenderError(CompositorError):
    """Compositing failed at a given output frame."""

    code = "RENDER_FAILED"

    def __init__(self, message: str, frame_index: int | None = None):
        super().__init__(message + (f" (frame {frame_index})" if frame_index is not None else ""))
        self.frame_index = frame_index

    def detail(self) -> dict:
        return {"frame_index": self.frame_index}


class AudioError(RenderError):
    """Mixing or resampling audio failed."""

    code = "AUDIO_FAILED"


class EncodeError(RenderError):
    """The encoder or muxer failed."""

    code = "ENCODE_FAILED"


class Cancelled(CompositorError):
    """The caller asked the render to stop."""

    code = "CANCELLED"


class OptionsError(CompositorError):
    """Output options are invalid (size, fps, time range...)."""

    code = "VALIDATION_ERROR"


class LimitExceeded(CompositorError):
    """A resource budget (:class:`compositor.budgets.Limits`) would be exceeded: ``limit`` is the
    budget's name, ``value`` what the draft or request asks for, ``bound`` the budget and
    ``setting`` where an operator changes it. ``json_path`` locates the culprit when known."""

    code = "LIMIT_EXCEEDED"

    def __init__(
        self,
        limit: str,
        value,
        bound,
        setting: str,
        *,
        what: str = "",
        below: bool = False,
        json_path: str | None = None,
    ):
        self.message = (
            f"{what or limit} is {value}, {'below' if below else 'over'} the limit "
            f"{limit} = {bound} (setting {setting})"
        )
        super().__init__(self.message + (f" (at {json_path})" if json_path else ""))
        self.limit = limit
        self.value = value
        self.bound = bound
        self.setting = setting
        self.json_path = json_path

    def detail(self) -> dict:
        out = {"limit": self.limit, "value": _plain(self.value), "bound": _plain(self.bound), "setting": self.setting}
        if self.json_path:
            out["json_path"] = self.json_path
        return out


def _plain(v):
    """Numbers as JSON-friendly values (Fractions as text)."""
    return v if isinstance(v, (int, float, str)) else str(v)
