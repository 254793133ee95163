"""Network limits of every download, and the statuses that are retried (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

#: HTTP statuses that are retried (everything else but 200/206 fails at once).
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class FetchLimits:
    """Network limits. ``retries`` = extra attempts after the first one."""

    max_file_bytes: int = 2 * 1024**3
    connect_timeout_s: float = 10
    read_timeout_s: float = 60
    retries: int = 6
    backoff_s: float = 0.5  # first retry delay; doubles each attempt
    parallel: int = 4
    max_backoff_s: float = 30.0  # cap of the exponential backoff
    max_retry_after_s: float = 120.0  # cap of a server's Retry-After
    deadline_s: float = 1800.0  # per file, all attempts together (0 = none)
    min_bytes_per_s: float = 1024.0  # minimum throughput over rate_window_s (0 = none) ...
    rate_window_s: float = 10.0
    rate_grace_s: float = 10.0  # ... checked once a response has been read this long


def client_timeout(limits: FetchLimits) -> aiohttp.ClientTimeout:
    """The per-request timeouts of ``limits`` (no total: deadlines are kept by the callers)."""
    return aiohttp.ClientTimeout(total=None, sock_connect=limits.connect_timeout_s, sock_read=limits.read_timeout_s)
