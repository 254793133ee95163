"""The one retry loop of every request: attempts, capped exponential backoff, ``Retry-After``.

An attempt either returns, raises :class:`Retryable` (a status or a broken body worth another
try), raises :class:`Fatal` (carries the error to raise at once), or fails with a network
error (retried). Pure but for the sleep between attempts.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from typing import Awaitable, Callable, TypeVar

import aiohttp

from ..egress_client import describe_error
from .limits import FetchLimits

T = TypeVar("T")

#: Failures of a request that are worth another attempt.
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError, TimeoutError)


class Fatal(Exception):
    """A non-retryable failure of one request (carries the error to raise and its cause)."""

    def __init__(self, err: Exception, cause: BaseException | None = None):
        self.err = err
        self.cause = cause


class Retryable(Exception):
    """A failed attempt worth repeating: ``reason`` in our words, the HTTP ``status`` if any
    and the server's ``Retry-After`` header."""

    def __init__(self, reason: str, status: int | None = None, retry_after: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


def retry_after_s(value: str | None, cap: float) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (seconds or HTTP date), capped; None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        secs = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        secs = when.timestamp() - time.time()
    if secs != secs:  # NaN
        return None
    return max(0.0, min(secs, cap))


def backoff_delay(attempt: int, limits: FetchLimits, retry_after: str | None) -> float:
    """Delay before retry number ``attempt`` (0-based): capped exponential with a little jitter,
    never shorter than the server's ``Retry-After``."""
    base = min(limits.max_backoff_s, limits.backoff_s * (2**attempt))
    delay = base * random.uniform(0.8, 1.0)
    ra = retry_after_s(retry_after, limits.max_retry_after_s)
    if ra is not None:
        delay = max(delay, ra)
    return delay


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    limits: FetchLimits,
    *,
    give_up: Callable[[int, str, int | None], Exception],
    network_errors: tuple[type[BaseException], ...] = NETWORK_ERRORS,
    after_failure: Callable[[], None] | None = None,
) -> T:
    """Run ``attempt()`` up to ``limits.retries + 1`` times with :func:`backoff_delay` between.

    ``after_failure()`` runs after each retryable failure; when all attempts failed the error
    ``give_up(attempts, last_reason, last_status)`` is raised."""
    last_status: int | None = None
    last_reason = ""
    attempts = max(0, int(limits.retries)) + 1
    for i in range(attempts):
        retry_after = None
        try:
            return await attempt()
        except Fatal as f:
            raise f.err from f.cause
        except Retryable as r:
            last_status = r.status if r.status is not None else last_status
            last_reason = r.reason
            retry_after = r.retry_after
        except network_errors as e:
            last_reason = describe_error(e)
        if after_failure is not None:
            after_failure()
        if i + 1 < attempts:
            await asyncio.sleep(backoff_delay(i, limits, retry_after))
    raise give_up(attempts, last_reason, last_status)
