"""The HTTP client every outbound request goes through (I/O): an aiohttp session whose
connector resolves names with :class:`GuardedResolver`, and :meth:`EgressClient.request`,
which checks each URL and follows redirects by hand.

* **No DNS-rebinding window.** The connector asks :class:`GuardedResolver` for a name's
  addresses; it resolves once, refuses the name if any address is forbidden by the
  :class:`~compositor.egress.EgressPolicy` and otherwise hands exactly those addresses to the
  TCP connect. TLS SNI and the ``Host`` header stay the host name. Literal addresses (which
  aiohttp connects to without a resolver) are checked by :meth:`EgressPolicy.target` first.
* **Redirects** are followed here, not by aiohttp: at most ``policy.max_redirects`` hops,
  each hop's URL checked like the first (http/https only, allowlist, addresses).
* :func:`describe_error` turns a network exception into our own words: messages never carry
  bytes the remote side sent (status lines, bodies).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from typing import Any, AsyncIterator

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from .egress import EgressPolicy, Target
from .errors import UrlForbidden

__all__ = ["EgressClient", "GuardedResolver", "BadUrl", "describe_error", "REDIRECT_STATUSES"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class BadUrl(ValueError):
    """A URL that cannot be parsed (or a redirect Location that cannot): never retried."""


class GuardedResolver(AbstractResolver):
    """Resolves with ``base`` (aiohttp's default resolver unless given: tests inject one) and
    refuses the host when any address is forbidden; returns the addresses it checked."""

    def __init__(self, policy: EgressPolicy, base: AbstractResolver | None = None):
        self.policy = policy
        self.base = base if base is not None else aiohttp.resolver.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.base.resolve(host, port, family)
        addresses = [ipaddress.ip_address(r["host"]) for r in results]
        self.policy.check_name(host, port, addresses)
        return results

    async def close(self) -> None:
        await self.base.close()


def describe_error(exc: BaseException) -> str:
    """A network failure in our own words (never the text of what the remote side sent)."""
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timed out"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "cannot resolve the host"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "cannot connect"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "malformed response body"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "malformed HTTP response"
    if isinstance(exc, aiohttp.ClientOSError):
        return "connection error"
    return f"network error ({type(exc).__name__})"


class EgressClient:
    """An aiohttp session bound to an :class:`EgressPolicy` (see the module docstring).

    Build it inside a running loop; ``close()`` it (or ``async with``). ``resolver`` replaces
    the DNS resolver under the guard (tests)."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        resolver: AbstractResolver | None = None,
        limit: int = 100,
        limit_per_host: int = 0,
        ttl_dns_cache: int | None = 10,
        timeout: aiohttp.ClientTimeout | None = None,
        headers: dict | None = None,
    ):
        self.policy = policy
        self.resolver = GuardedResolver(policy, resolver)
        connector = aiohttp.TCPConnector(
            resolver=self.resolver, limit=limit, limit_per_host=limit_per_host, ttl_dns_cache=ttl_dns_cache
        )
        kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        self.session = aiohttp.ClientSession(connector=connector, headers=headers, trust_env=False, **kwargs)

    async def close(self) -> None:
        await self.session.close()

    async def __aenter__(self) -> "EgressClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def target(self, url: str | yarl.URL) -> Target:
        """Check ``url`` without DNS (UrlForbidden; BadUrl when it does not parse)."""
        try:
            return self.policy.target(url)
        except UrlForbidden:
            raise
        except (ValueError, TypeError) as exc:
            raise BadUrl(str(exc) or "not a valid URL") from None

    async def preflight(self, url: str | yarl.URL) -> None:
        """Check ``url`` and, for a name, resolve and check its addresses now (a submission's
        early verdict; the connection checks again). DNS trouble is not a verdict."""
        t = self.target(url)
        if not isinstance(t.host, str):
            return
        try:
            results = await self.resolver.base.resolve(t.host, t.port, socket.AF_UNSPEC)
        except (OSError, asyncio.TimeoutError):
            return
        self.policy.check_addresses(t, [ipaddress.ip_address(r["host"]) for r in results])

    @contextlib.asynccontextmanager
    async def request(
        self, method: str, url: str | yarl.URL, *, follow_redirects: bool = True, **kwargs
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """``session.request`` with the policy applied to the URL and to every redirect hop.

        Raises UrlForbidden (policy, more than ``max_redirects`` hops, a non-http(s) hop),
        BadUrl (a URL or Location that does not parse) or aiohttp's network errors."""
        current: str | yarl.URL = url
        hops = 0
        while True:
            target = self.target(current)
            try:
                resp = await self.session.request(method, target.url, allow_redirects=False, **kwargs)
            except UrlForbidden as exc:  # from the resolver: name the whole URL
                raise UrlForbidden(exc.message, target.public, exc.host) from None
            except aiohttp.InvalidURL:
                raise BadUrl("not a valid URL") from None
            try:
                location = resp.headers.get("Location")
                if follow_redirects and resp.status in REDIRECT_STATUSES and location:
                    hops += 1
                    if hops > self.policy.max_redirects:
                        raise UrlForbidden(
                            f"more than {self.policy.max_redirects} redirects", target.public, target.host_text
                        )
                    try:
                        current = target.url.join(yarl.URL(location))
                    except (ValueError, TypeError):
                        raise BadUrl("a redirect Location is not a valid URL") from None
                    if resp.status == 303 or (resp.status in (301, 302) and method.upper() == "POST"):
                        method = "GET"
                        kwargs.pop("data", None)
                        kwargs.pop("json", None)
                    continue
                yield resp
                return
            finally:
                resp.release()
