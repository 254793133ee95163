"""Reading a response body under a minimum throughput (I/O: reads the network stream)."""

from __future__ import annotations

import asyncio
import time
from collections import deque

import aiohttp

from ..errors import AssetUnreachable
from .limits import FetchLimits
from .retry import Fatal


class RateGuard:
    """Minimum throughput over a sliding window (pure: the caller passes the clock).

    ``too_slow(now)`` is true once ``grace_s`` has passed since ``start`` and the bytes of the
    last ``window_s`` (or of the time since ``start`` when that is shorter) came slower than
    ``min_bytes_per_s``."""

    def __init__(self, min_bytes_per_s: float, window_s: float, grace_s: float, start: float):
        self.min_bytes_per_s = min_bytes_per_s
        self.window_s = max(window_s, 1e-3)
        self.grace_s = grace_s
        self.start = start
        self.samples: deque[tuple[float, int]] = deque()
        self.in_window = 0

    def add(self, now: float, n: int) -> None:
        self.samples.append((now, n))
        self.in_window += n

    def too_slow(self, now: float) -> bool:
        if self.min_bytes_per_s <= 0 or now - self.start < self.grace_s:
            return False
        span = min(self.window_s, now - self.start)
        while self.samples and self.samples[0][0] <= now - span:
            self.in_window -= self.samples.popleft()[1]
        return span > 0 and self.in_window < self.min_bytes_per_s * span


async def read_body(resp: aiohttp.ClientResponse, limits: FetchLimits, url: str, error=AssetUnreachable):
    """The body in chunks as they come; a server slower than the limits' minimum throughput
    is a fatal error (checked at least every quarter window, also while nothing arrives)."""
    guard = RateGuard(limits.min_bytes_per_s, limits.rate_window_s, limits.rate_grace_s, time.monotonic())
    tick = max(0.02, min(1.0, limits.rate_window_s / 4))
    pending: asyncio.Future | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(resp.content.readany())
            done, _ = await asyncio.wait({pending}, timeout=tick)
            now = time.monotonic()
            if done:
                chunk = pending.result()
                pending = None
                if not chunk:
                    return
                guard.add(now, len(chunk))
                yield chunk
            if guard.too_slow(now):
                raise Fatal(
                    error(
                        f"the server sent less than {limits.min_bytes_per_s:g} bytes/s over {limits.rate_window_s:g} s",
                        url,
                    )
                )
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
