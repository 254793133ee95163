"""capcut-mate's ``get_draft`` listing protocol (I/O: one GET through the retry loop).

``GET <draft_url>`` answers ``{"code": 0, "files": [<absolute URLs>]}``; each listed file
belongs at the part of its URL path after the segment equal to the draft id (like
capcut-mate's own downloader). Error messages name the URL and use our own words: no text
of the answer is ever quoted.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import unquote, urlsplit

import aiohttp

from ..draft_folder import WIN_DRIVE_RE, looks_like_draft_id
from ..egress import public_url
from ..egress_client import BadUrl, EgressClient
from ..errors import DraftNotFound
from .body import read_body
from .limits import RETRY_STATUSES, FetchLimits, client_timeout
from .retry import Fatal, Retryable, with_retries

_LISTING_MAX_BYTES = 64 * 1024**2


def safe_rel_path(rel: str) -> str | None:
    """Normalise a '/'-separated relative path; None if it escapes, is absolute or hostile."""
    if not rel or "\\" in rel or "\x00" in rel or rel.startswith("/") or WIN_DRIVE_RE.match(rel):
        return None
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def rel_path_for(url: str, draft_id: str) -> str | None:
    """Local path (relative to the draft folder) of a listed file URL, or None if refused.

    The URL path after the segment equal to ``draft_id``; else after the first segment that
    capcut-mate would take for a draft id; else the basename. Segments are URL-decoded one by
    one, and the result must stay inside the folder.
    """
    segments = urlsplit(url).path.split("/")
    decoded = [unquote(s) for s in segments]
    rest: list[str] | None = None
    for i, seg in enumerate(decoded):
        if seg == draft_id:
            rest = segments[i + 1 :]
            break
    if rest is None:
        for i, seg in enumerate(decoded):
            if looks_like_draft_id(seg):
                rest = segments[i + 1 :]
                break
    if rest is None:
        rest = segments[-1:]
    pieces = [unquote(s) for s in rest]
    if any("/" in p for p in pieces):  # an encoded %2F inside a segment
        return None
    return safe_rel_path("/".join(pieces))


async def get_listing(client: EgressClient, url: str, limits: FetchLimits) -> list[str]:
    shown = public_url(url)
    try:
        async with asyncio.timeout(limits.deadline_s if limits.deadline_s > 0 else None) as deadline:
            return await _get_listing_attempts(client, url, shown, limits)
    except TimeoutError:
        if deadline.expired():
            raise DraftNotFound(f"get_draft did not answer within {limits.deadline_s:g} s", shown) from None
        raise


async def _get_listing_attempts(client: EgressClient, url: str, shown: str, limits: FetchLimits) -> list[str]:
    async def attempt() -> list[str]:
        try:
            async with client.request(
                "GET", url, timeout=client_timeout(limits), headers={"Accept": "application/json"}
            ) as resp:
                status = resp.status
                if status == 404:
                    raise DraftNotFound("draft not found", shown, 404)
                if status in RETRY_STATUSES:
                    raise Retryable(f"HTTP {status}", status, resp.headers.get("Retry-After"))
                if status != 200:
                    raise DraftNotFound("get_draft answered an unexpected HTTP status", shown, status)
                buf = bytearray()
                async for chunk in read_body(resp, limits, shown, DraftNotFound):
                    buf += chunk
                    if len(buf) > _LISTING_MAX_BYTES:
                        raise DraftNotFound("get_draft answer is too large", shown, status)
                return parse_listing(bytes(buf), shown)
        except DraftNotFound as e:
            raise Fatal(e) from None
        except BadUrl:
            raise Fatal(DraftNotFound("draft_url is not a valid URL", shown)) from None

    return await with_retries(
        attempt,
        limits,
        network_errors=(aiohttp.ClientError, asyncio.TimeoutError, OSError),
        give_up=lambda attempts, reason, status: DraftNotFound(
            f"get_draft unreachable after {attempts} attempts ({reason})", shown, status
        ),
    )


def parse_listing(body: bytes, url: str) -> list[str]:
    """The ``files`` of a get_draft answer. Errors name the URL and our own words only: no
    text of the answer (which may come from an internal page) is ever quoted."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DraftNotFound("get_draft answer is not JSON", url, 200) from None
    if not isinstance(data, dict):
        raise DraftNotFound("get_draft answer is not a JSON object", url, 200)
    code = data.get("code")
    if code != 0:
        shown_code = code if isinstance(code, int) and not isinstance(code, bool) else "(not a number)"
        err = DraftNotFound(f"get_draft answered code {shown_code}", url)
        err.api_code = code if isinstance(code, int) else None  # the business code of capcut-mate
        raise err
    files = data.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise DraftNotFound("malformed get_draft answer: 'files' is not a list of strings", url, 200)
    return files
