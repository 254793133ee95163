"""Egress policy: which URLs and addresses outbound fetches may reach (pure, no I/O).

Every outbound request of the renderer and the service (a ``draft_url``, get_draft's file
list, material URLs, sticker and canvas images, each redirect hop, webhooks) is checked by an
:class:`EgressPolicy`:

* the URL must parse, use ``http``/``https`` and name a host (:meth:`EgressPolicy.target`);
* every address the host stands for — the literal address, however it is spelt (decimal
  ``2130706433``, octal ``0177.0.0.1``, hex ``0x7f.1``, short ``127.1``, IPv6 with a zone id),
  or each address DNS returns for a name — is classified by :func:`forbidden_reason`:
  loopback, private (RFC 1918, ``fc00::/7``), link-local, CGNAT, multicast, unspecified,
  broadcast, documentation/benchmark/reserved ranges, site-local, Teredo, local-use NAT64 and
  the IPv4-mapped / 6to4 / NAT64 forms of a forbidden IPv4 address are refused;
* unless the policy allows private networks, or the URL's host (``host``, ``host:port``) or
  the address (an IP, ``ip:port`` or a CIDR) is on the allowlist;
* with ``allowlist_only``, the URL's host as written must be on the allowlist as well (a name
  entry for a name, an IP/CIDR entry for a literal address): public hosts are refused too,
  and nothing unlisted is even resolved.

* a host or address on the ``denylist`` (the service's own object store endpoint: operator
  configuration that user URLs must never reach) is refused whatever else is allowed.

If *any* address of a name is forbidden the URL is refused (a name that mixes public and
internal answers is how DNS rebinding attacks look). The connection itself is made by
:mod:`compositor.egress_client` to exactly the addresses checked here.

``EgressPolicy.permissive()`` (the CLI's and the library's default: the operator chose the
draft) allows every address but still insists on http(s) and at most 5 redirects.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import urllib.parse
from dataclasses import dataclass, field
from typing import Iterable

import yarl

from .errors import UrlForbidden

__all__ = [
    "EgressPolicy",
    "AllowEntry",
    "Target",
    "forbidden_reason",
    "parse_host",
    "public_url",
    "MAX_REDIRECTS",
    "ALLOWLIST_SETTING",
    "PRIVATE_SETTING",
    "ONLY_SETTING",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_REDIRECTS = 5
#: the settings named in refusals (the service's flags; the library's fields are
#: ``EgressPolicy.allowlist`` / ``allow_private``)
ALLOWLIST_SETTING = "--url-allowlist"
PRIVATE_SETTING = "--allow-private-networks"
ONLY_SETTING = "--url-allowlist-only"

_SCHEMES = ("http", "https")
_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*$")
_NUMERIC_V4_RE = re.compile(r"^[0-9a-fx.]+$")


def _nets(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# (networks, reason) in the order they are tested; the first match names the reason
_V4_RULES: tuple[tuple[tuple[IPNetwork, ...], str], ...] = (
    (_nets("255.255.255.255/32"), "broadcast"),
    (_nets("0.0.0.0/8"), "unspecified"),
    (_nets("127.0.0.0/8"), "loopback"),
    (_nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"), "private"),
    (_nets("169.254.0.0/16"), "link-local"),
    (_nets("100.64.0.0/10"), "CGNAT (shared address space)"),
    (_nets("224.0.0.0/4"), "multicast"),
    (_nets("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"), "documentation"),
    (_nets("198.18.0.0/15"), "benchmarking"),
    (_nets("192.0.0.0/24", "192.88.99.0/24", "240.0.0.0/4"), "reserved"),
)

_V6_RULES: tuple[tuple[tuple[IPNetwork, ...], str], ...] = (
    (_nets("::/128"), "unspecified"),
    (_nets("::1/128"), "loopback"),
    (_nets("64:ff9b:1::/48"), "local-use NAT64"),
    (_nets("2001::/32"), "Teredo"),
    (_nets("fc00::/7"), "private (unique local)"),
    (_nets("fe80::/10"), "link-local"),
    (_nets("fec0::/10"), "site-local"),
    (_nets("ff00::/8"), "multicast"),
    (_nets("2001:db8::/32", "3fff::/20"), "documentation"),
    (_nets("2001:2::/48"), "benchmarking"),
    (_nets("::/8", "100::/64", "2001::/23", "5f00::/16"), "reserved"),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


def _unscoped(addr: IPAddress) -> IPAddress:
    if isinstance(addr, ipaddress.IPv6Address) and addr.scope_id:
        return ipaddress.IPv6Address(addr.packed)
    return addr


def forbidden_reason(addr: IPAddress) -> str | None:
    """Why ``addr`` may not be reached without an allowlist entry (``"loopback"``,
    ``"private (IPv4-mapped)"`` …), or None for a public address."""
    addr = _unscoped(addr)
    if isinstance(addr, ipaddress.IPv4Address):
        for nets, reason in _V4_RULES:
            if any(addr in n for n in nets):
                return reason
        return None if addr.is_global else "reserved"
    embedded, form = _embedded_v4(addr)
    if embedded is not None:
        inner = forbidden_reason(embedded)
        return f"{inner} ({form})" if inner else None
    for nets, reason in _V6_RULES:
        if any(addr in n for n in nets):
            return reason
    if addr not in _GLOBAL_UNICAST or not addr.is_global:
        return "reserved"
    return None


def _embedded_v4(addr: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address | None, str]:
    """The IPv4 address an IPv4-mapped, 6to4 or NAT64 (64:ff9b::/96) address stands for."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped, "IPv4-mapped"
    if addr.sixtofour is not None:
        return addr.sixtofour, "6to4"
    if addr in _NAT64:
        return ipaddress.IPv4Address(addr.packed[-4:]), "NAT64"
    return None, ""


def _as_v4(addr: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address as its IPv4 address (for allowlist matching)."""
    addr = _unscoped(addr)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def parse_host(host: str) -> str | IPAddress:
    """A URL host, normalised: an IP address (every IPv4 spelling ``inet_aton`` accepts, IPv6
    with or without brackets and zone id) or a lower-case ASCII name without trailing dots.
    Raises ValueError for something that is neither."""
    h = host.strip()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    h = h.rstrip(".").lower() if not h.endswith("..") else ""
    if not h:
        raise ValueError("empty host")
    if ":" in h:
        return ipaddress.IPv6Address(h)  # ValueError when not an address
    if _NUMERIC_V4_RE.match(h):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(h))
        except OSError:
            pass
    if not _HOSTNAME_RE.match(h):
        raise ValueError(f"not a host name: {h!r}")
    return h


def public_url(url: str | yarl.URL) -> str:
    """``url`` without userinfo (user name, password): the form errors and logs may carry."""
    try:
        u = url if isinstance(url, yarl.URL) else yarl.URL(str(url).strip())
        if u.user is not None or u.password is not None:
            u = u.with_user(None)
        return str(u)
    except (ValueError, TypeError):
        return "<unparseable URL>"


@dataclass(frozen=True)
class AllowEntry:
    """One allowlist entry: a host name, or a network (an IP is a /32 or /128), each with an
    optional port."""

    name: str | None = None
    network: IPNetwork | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> "AllowEntry":
        """``host``, ``host:port``, ``ip``, ``ip:port``, ``[v6]:port`` or a CIDR; ValueError if none."""
        t = text.strip()
        if not t:
            raise ValueError("empty allowlist entry")
        if "/" in t:
            return cls(network=ipaddress.ip_network(t.strip("[]"), strict=False))
        port = None
        if t.startswith("["):
            inner, sep, rest = t[1:].partition("]")
            if not sep or (rest and not rest.startswith(":")):
                raise ValueError(f"bad allowlist entry {text!r}")
            t, port = inner, _port(rest[1:]) if rest else None
        elif t.count(":") == 1:
            t, p = t.split(":")
            port = _port(p)
        host = parse_host(t)
        if isinstance(host, str):
            return cls(name=host, port=port)
        return cls(network=ipaddress.ip_network(_as_v4(host)), port=port)

    def matches(self, host: str | IPAddress, port: int, addr: IPAddress | None) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.name is not None:
            return host == self.name
        assert self.network is not None
        return addr is not None and _as_v4(addr) in self.network

    def __str__(self) -> str:
        base = self.name if self.name is not None else str(self.network)
        return base if self.port is None else f"{base}:{self.port}"


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"bad port {text!r}")
    return int(text)


@dataclass(frozen=True)
class Target:
    """A checked URL: scheme, normalised host (name or address), port and the URL to request."""

    url: yarl.URL
    scheme: str
    host: str | IPAddress
    port: int

    @property
    def host_text(self) -> str:
        return str(self.host)

    @property
    def public(self) -> str:
        return public_url(self.url)


@dataclass(frozen=True)
class EgressPolicy:
    """What outbound requests may reach (see the module docstring).

    ``allow_private``: every address is allowed (the permissive default of the CLI/library).
    ``allowlist``: exceptions for hosts, host:port pairs and networks.
    ``allowlist_only``: URLs must name a listed host (see the module docstring).
    ``max_redirects``: hops followed per request, each checked again.
    ``denylist``: hosts/addresses refused even when allowed otherwise (checked first)."""

    allow_private: bool = False
    allowlist: tuple[AllowEntry, ...] = field(default_factory=tuple)
    max_redirects: int = MAX_REDIRECTS
    allowlist_only: bool = False
    denylist: tuple[AllowEntry, ...] = field(default_factory=tuple)

    @classmethod
    def permissive(cls) -> "EgressPolicy":
        return cls(allow_private=True)

    @classmethod
    def from_settings(
        cls,
        allowlist: Iterable[str] = (),
        *,
        allow_private: bool = False,
        allowlist_only: bool = False,
        max_redirects: int = MAX_REDIRECTS,
        denylist: Iterable[str] = (),
    ) -> "EgressPolicy":
        """From allowlist texts (``host``, ``host:port``, CIDR …); ValueError names a bad entry."""
        entries = []
        for text in allowlist:
            try:
                entries.append(AllowEntry.parse(text))
            except ValueError:
                raise ValueError(f"url allowlist entry {text!r} is not a host, host:port or CIDR") from None
        return cls(
            allow_private=allow_private,
            allowlist=tuple(entries),
            max_redirects=max_redirects,
            allowlist_only=allowlist_only,
            denylist=tuple(AllowEntry.parse(text) for text in denylist),
        )

    # -- checks ----------------------------------------------------------------------------

    def target(self, url: str | yarl.URL) -> Target:
        """Parse and check the parts of ``url`` that need no DNS: scheme, host, port and, for
        a literal address, the address itself. Raises :class:`UrlForbidden`; a URL that does
        not parse raises ValueError (the caller's "invalid URL" error, never retried)."""
        u = url if isinstance(url, yarl.URL) else yarl.URL(str(url).strip())
        scheme = (u.scheme or "").lower()
        if scheme not in _SCHEMES:
            raise UrlForbidden(
                f"scheme {scheme or '(none)'!r} is not allowed (only http and https)", public_url(u), u.raw_host or ""
            )
        if not u.raw_host:
            raise ValueError("the URL has no host")
        raw = u.raw_host
        host = parse_host(urllib.parse.unquote(raw) if ":" in raw else raw)
        port = u.port if u.port is not None else (443 if scheme == "https" else 80)
        t = Target(u, scheme, host, port)
        self._check_denied(host, port, None if isinstance(host, str) else host, t.public)
        if self.allowlist_only and not any(
            e.matches(host, port, None if isinstance(host, str) else host) for e in self.allowlist
        ):
            raise UrlForbidden(
                f"host {host} is not on the allowlist ({ONLY_SETTING}); allow it with "
                f"{ALLOWLIST_SETTING} {host if port in (80, 443) else f'{host}:{port}'}",
                t.public,
                str(host),
            )
        if not isinstance(host, str):
            self.check_addresses(t, [host])
        return t

    def allows(self, host: str | IPAddress, port: int, addr: IPAddress) -> bool:
        if self.allow_private or forbidden_reason(addr) is None:
            return True
        return any(e.matches(host, port, addr) for e in self.allowlist)

    def check_addresses(self, target: Target, addresses: Iterable[IPAddress]) -> None:
        """Refuse ``target`` if any address it resolved to is forbidden (UrlForbidden)."""
        self._check(target.host, target.port, target.public, addresses)

    def check_name(self, host: str, port: int, addresses: Iterable[IPAddress]) -> None:
        """The resolver's check: ``host`` (as the connector saw it) resolved to ``addresses``."""
        try:
            norm: str | IPAddress = parse_host(host)
        except ValueError:
            norm = host.lower()
        self._check(norm, port, f"{host}:{port}", addresses)

    def _check_denied(self, host: str | IPAddress, port: int, addr: IPAddress | None, shown_url: str) -> None:
        if any(e.matches(host, port, addr) for e in self.denylist):
            raise UrlForbidden(f"host {host} is the service's own storage endpoint", shown_url, str(host))

    def _check(self, host: str | IPAddress, port: int, shown_url: str, addresses: Iterable[IPAddress]) -> None:
        for addr in addresses:
            self._check_denied(host, port, addr, shown_url)
            if not self.allows(host, port, addr):
                reason = forbidden_reason(addr)
                a = "an" if str(reason)[:1].lower() in "aeiou" else "a"
                how = (
                    f"is {a} {reason} address"
                    if not isinstance(host, str)
                    else f"resolves to {a} {reason} address ({_unscoped(addr)})"
                )
                suggest = host if isinstance(host, str) else _as_v4(_unscoped(addr))
                raise UrlForbidden(
                    f"host {host} {how}; allow it with {ALLOWLIST_SETTING} {suggest} or {PRIVATE_SETTING}",
                    shown_url,
                    str(host),
                )
