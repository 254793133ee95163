"""The egress policy without any connection: address classification (a table of host forms,
names answered by an injected resolver), allowlist forms, URL parsing, the throughput guard.

Non-loopback addresses appear here only to be classified; nothing connects to them.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver

from compositor.egress import AllowEntry, EgressPolicy, forbidden_reason, parse_host, public_url
from compositor.egress_client import GuardedResolver
from compositor.errors import UrlForbidden
from compositor.fetch import RateGuard
from server.egress import egress_policy, from_egress_spec
from server.settings import Settings

#: what the injected resolver answers (normalised name -> addresses)
DNS = {
    "localhost": ["127.0.0.1", "::1"],
    "internal.example": ["10.1.2.3"],
    "mixed.example": ["8.8.8.8", "10.0.0.1"],  # one bad answer is enough to refuse
    "v6only.example": ["fd00::1"],
    "metadata.example": ["169.254.169.254"],
    "cgnat.example": ["100.64.1.1"],
    "mapped.example": ["::ffff:192.168.0.1"],
    "public.example": ["8.8.4.4", "2001:4860:4860::8888"],
}


class FakeResolver(AbstractResolver):
    """Answers from :data:`DNS`; records what it was asked. Never touches the network."""

    def __init__(self):
        self.asked: list[tuple[str, int]] = []

    async def resolve(self, host, port=0, family=socket.AF_INET):
        self.asked.append((host, port))
        name = host.rstrip(".").lower()
        if name not in DNS:
            raise OSError(f"unknown host {host}")
        return [
            {
                "hostname": host,
                "host": a,
                "port": port,
                "family": socket.AF_INET6 if ":" in a else socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
            for a in DNS[name]
        ]

    async def close(self):
        pass


def verdict(url: str, policy: EgressPolicy = EgressPolicy()) -> str | None:
    """The refusal reason of ``url`` under ``policy`` (None = allowed), names via :data:`DNS`."""
    try:
        target = policy.target(url)
        if isinstance(target.host, str):
            policy.check_addresses(target, [ipaddress.ip_address(a) for a in DNS[target.host]])
    except UrlForbidden as exc:
        return exc.message
    return None


# (URL, a word the refusal must contain; None = allowed)
TABLE = [
    # IPv4 literals, every spelling inet_aton accepts
    ("http://127.0.0.1/", "loopback"),
    ("http://127.255.255.254:8080/x", "loopback"),
    ("http://2130706433/", "loopback"),  # decimal
    ("http://0177.0.0.1/", "loopback"),  # octal
    ("http://0x7f.1/", "loopback"),  # hex, short
    ("http://0x7f000001/", "loopback"),  # one hex number
    ("http://017700000001/", "loopback"),  # one octal number
    ("http://127.1/", "loopback"),  # short form
    ("http://127.0.1/", "loopback"),
    ("http://10.0.0.1/", "private"),
    ("http://0xa.0.0.1/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://172.31.255.255/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://3232235777/", "private"),  # decimal 192.168.1.1
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://2852039166/", "link-local"),  # decimal 169.254.169.254
    ("http://100.64.0.1/", "CGNAT"),
    ("http://100.127.255.254/", "CGNAT"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://239.255.255.250/", "multicast"),
    ("http://255.255.255.255/", "broadcast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://192.0.0.8/", "reserved"),
    ("http://192.0.2.10/", "documentation"),
    ("http://198.51.100.7/", "documentation"),
    ("http://203.0.113.9/", "documentation"),
    ("http://198.18.0.1/", "benchmarking"),
    # IPv6 literals
    ("http://[::1]/", "loopback"),
    ("http://[0:0:0:0:0:0:0:1]:81/", "loopback"),
    ("http://[::]/", "unspecified"),
    ("http://[::ffff:127.0.0.1]/", "loopback (IPv4-mapped)"),
    ("http://[::ffff:a9fe:a9fe]/", "link-local (IPv4-mapped)"),
    ("http://[::127.0.0.1]/", "reserved"),  # IPv4-compatible (deprecated)
    ("http://[2002:7f00:1::1]/", "loopback (6to4)"),
    ("http://[2002:c0a8:101::]/", "private (6to4)"),
    ("http://[64:ff9b::7f00:1]/", "loopback (NAT64)"),
    ("http://[64:ff9b::10.0.0.1]/", "private (NAT64)"),
    ("http://[64:ff9b:1::a00:1]/", "local-use NAT64"),
    ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "Teredo"),
    ("http://[fc00::1]/", "private"),
    ("http://[fd12:3456::1]/", "private"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fe80::1%25eth0]/", "link-local"),  # zone id
    ("http://[fec0::1]/", "site-local"),
    ("http://[ff02::1]/", "multicast"),
    ("http://[2001:db8::1]/", "documentation"),
    ("http://[100::1]/", "reserved"),  # discard-only
    ("http://[2001:2::1]/", "benchmarking"),
    # names, answered by the injected resolver (trailing dots and case normalised)
    ("http://localhost/", "loopback"),
    ("http://LOCALHOST./", "loopback"),
    ("http://internal.example./", "private"),
    ("http://mixed.example/", "private"),
    ("http://v6only.example/", "private"),
    ("http://metadata.example/", "link-local"),
    ("http://cgnat.example/", "CGNAT"),
    ("http://mapped.example/", "private (IPv4-mapped)"),
    # public: allowed
    ("http://8.8.8.8/", None),
    ("http://134744072/", None),  # decimal 8.8.8.8
    ("https://[2606:4700:4700::1111]/", None),
    ("http://[::ffff:8.8.8.8]/", None),
    ("http://[64:ff9b::8.8.8.8]/", None),
    ("http://[2002:808:808::1]/", None),
    ("https://public.example/get_draft?draft_id=1", None),
    ("https://user:pw@public.example:8443/x", None),
]


def test_table_is_large_enough():
    assert len(TABLE) >= 40


@pytest.mark.parametrize("url, expected", TABLE, ids=[u for u, _ in TABLE])
def test_classification(url, expected):
    got = verdict(url)
    if expected is None:
        assert got is None
    else:
        assert got is not None and expected in got, got


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "file:///etc/passwd", "gopher://127.0.0.1:70/", "javascript:alert(1)", "//example.com/x"],
)
def test_only_http_and_https(url):
    with pytest.raises(UrlForbidden, match="scheme"):
        EgressPolicy.permissive().target(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://exa mple.com/",
        "http://[::1/",
        "http:///path",
        "http://127.0.0.1:99999/",
        "http://-bad-.example/",
        "http://a..b/",
    ],
)
def test_unparseable_urls_are_value_errors(url):
    with pytest.raises(ValueError):
        EgressPolicy().target(url)


def test_refusal_names_host_and_settings_without_userinfo():
    with pytest.raises(UrlForbidden) as ei:
        EgressPolicy().target("http://admin:hunter2@0x7f.1:8080/a")
    msg = str(ei.value)
    assert ei.value.code == "URL_FORBIDDEN" and ei.value.host == "127.0.0.1"
    assert "host 127.0.0.1 is a loopback address" in msg
    assert "--url-allowlist 127.0.0.1" in msg and "--allow-private-networks" in msg
    assert "hunter2" not in msg and "admin" not in msg
    assert public_url("https://u:p@h.example/x?q=1") == "https://h.example/x?q=1"


def test_refusal_of_a_name_suggests_the_name():
    msg = verdict("http://internal.example:8080/")
    assert msg is not None and "host internal.example resolves to a private address (10.1.2.3)" in msg
    assert "--url-allowlist internal.example" in msg


@pytest.mark.parametrize(
    "addr, reason",
    [
        ("127.0.0.1", "loopback"),
        ("10.255.255.255", "private"),
        ("8.8.8.8", None),
        ("::1", "loopback"),
        ("fe80::1%eth0", "link-local"),
        ("2606:4700::1", None),
        ("4000::1", "reserved"),
    ],
)
def test_forbidden_reason(addr, reason):
    got = forbidden_reason(ipaddress.ip_address(addr))
    assert got == reason if reason is None else (got is not None and reason in got)


@pytest.mark.parametrize(
    "host, expected",
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("Example.COM.", "example.com"),
        ("xn--f1a7c.xn--p1ai", "xn--f1a7c.xn--p1ai"),
        ("deadbeef", "deadbeef"),
    ],
)
def test_parse_host(host, expected):
    assert str(parse_host(host)) == expected


# -- the allowlist ------------------------------------------------------------------------------

ALLOW_CASES = [
    # (allowlist, URL, allowed?)
    (["internal.example"], "http://internal.example/", True),
    (["internal.example"], "http://internal.example:9000/", True),
    (["INTERNAL.example."], "http://internal.example/", True),
    (["internal.example"], "http://metadata.example/", False),
    (["internal.example:8080"], "http://internal.example:8080/", True),
    (["internal.example:8080"], "http://internal.example/", False),
    (["127.0.0.1"], "http://127.0.0.1:1234/", True),
    (["127.0.0.1"], "http://localhost.:1234/", False),  # localhost also answers ::1
    (["127.0.0.1", "::1"], "http://localhost:1234/", True),  # ... an IP entry matches resolved addresses
    (["127.0.0.1"], "http://2130706433/", True),  # any spelling of the address
    (["127.0.0.1"], "http://[::ffff:127.0.0.1]/", True),
    (["127.0.0.1"], "http://127.0.0.2/", False),
    (["127.0.0.1:8080"], "http://127.0.0.1:8080/", True),
    (["127.0.0.1:8080"], "http://127.0.0.1:8081/", False),
    (["127.0.0.0/8"], "http://127.9.9.9/", True),
    (["10.0.0.0/8"], "http://internal.example/", True),
    (["10.0.0.0/8"], "http://172.16.0.1/", False),
    (["10.0.0.0/8"], "http://mixed.example/", True),
    (["fd00::/8"], "http://v6only.example/", True),
    (["[::1]:8080"], "http://[::1]:8080/", True),
    (["[::1]:8080"], "http://[::1]:8081/", False),
    (["localhost"], "http://localhost/", True),
    ([], "http://8.8.8.8/", True),
]


@pytest.mark.parametrize("allowlist, url, allowed", ALLOW_CASES)
def test_allowlist_forms(allowlist, url, allowed):
    policy = EgressPolicy.from_settings(allowlist)
    assert (verdict(url, policy) is None) == allowed


@pytest.mark.parametrize(
    "entry", ["", "http://x.example", "10.0.0.0/33", "a:b:c", "host:0", "host:port", "a b", "[::1", "[::1]x"]
)
def test_bad_allowlist_entries(entry):
    with pytest.raises(ValueError):
        AllowEntry.parse(entry)


def test_bad_allowlist_entry_stops_the_server_at_start():
    with pytest.raises(SystemExit, match="url_allowlist"):
        Settings.from_sources(["--url-allowlist", "10.0.0.0/33"], environ={})


def test_private_networks_and_permissive_allow_everything_but_other_schemes():
    for policy in (EgressPolicy.permissive(), EgressPolicy.from_settings((), allow_private=True)):
        for url, _ in TABLE:
            assert verdict(url, policy) is None
        with pytest.raises(UrlForbidden):
            policy.target("file:///etc/passwd")


def test_server_settings_build_the_policy():
    s = Settings.from_sources(
        [
            "--url-allowlist",
            "drafts.internal:8080,10.0.0.0/8",
            "--allow-private-networks",
            "--download-timeout",
            "60",
            "--download-min-bytes-per-s",
            "0",
        ],
        environ={},
    )
    assert s.url_allowlist == ("drafts.internal:8080", "10.0.0.0/8") and s.allow_private_networks
    policy = egress_policy(s)
    assert policy.allow_private and [str(e) for e in policy.allowlist] == ["drafts.internal:8080", "10.0.0.0/8"]
    env = Settings.from_sources(
        [], environ={"DRAFT_SERVER_ALLOW_PRIVATE_NETWORKS": "1", "DRAFT_SERVER_URL_ALLOWLIST": "a.example, 127.0.0.1:9"}
    )
    assert env.allow_private_networks and env.url_allowlist == ("a.example", "127.0.0.1:9")
    default = Settings()
    assert not egress_policy(default).allow_private and egress_policy(default).allowlist == ()
    from server.egress import egress_spec

    policy2, limits = from_egress_spec(egress_spec(s))
    assert policy2 == policy and limits.deadline_s == 60 and limits.min_bytes_per_s == 0


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("http://drafts.internal/get_draft?draft_id=1", True),
        ("http://drafts.internal:8080/", False),  # listed for port 80 only
        ("http://8.8.8.8/", False),  # public, but not listed
        ("http://public.example/", False),
        ("http://10.1.2.3:9000/", True),  # a literal address in a listed network
        ("http://127.0.0.1:30000/", True),
        ("http://127.0.0.1:30001/", False),
    ],
)
def test_allowlist_only(url, allowed):
    policy = EgressPolicy.from_settings(["drafts.internal:80", "10.0.0.0/8", "127.0.0.1:30000"], allowlist_only=True)
    try:
        policy.target(url)  # no DNS: the host as written decides
    except UrlForbidden as exc:
        assert not allowed and "--url-allowlist-only" in str(exc)
    else:
        assert allowed


def test_allowlist_only_with_names():
    policy = EgressPolicy.from_settings(["public.example", "internal.example:8080"], allowlist_only=True)
    assert verdict("http://public.example/", policy) is None
    assert verdict("http://internal.example:8080/", policy) is None  # a listed name is an exception too
    assert "--url-allowlist-only" in (verdict("http://internal.example/", policy) or "")
    assert "--url-allowlist-only" in (verdict("http://mixed.example/", policy) or "")
    assert Settings.from_sources(["--url-allowlist-only"], environ={}).url_allowlist_only


# -- the resolver (what the connector calls; still no connection) ------------------------------


@pytest.mark.asyncio
async def test_guarded_resolver_refuses_and_passes_through():
    fake = FakeResolver()
    guard = GuardedResolver(EgressPolicy.from_settings(["10.0.0.0/8"]), fake)
    got = await guard.resolve("internal.example.", 80)
    assert [r["host"] for r in got] == ["10.1.2.3"]  # exactly the checked addresses
    with pytest.raises(UrlForbidden, match="link-local"):
        await guard.resolve("metadata.example", 80)
    with pytest.raises(UrlForbidden, match="loopback"):
        await guard.resolve("LocalHost.", 443)
    with pytest.raises(OSError):
        await guard.resolve("nowhere.example", 80)
    assert fake.asked[0] == ("internal.example.", 80)


# -- the throughput guard (pure: the test drives the clock) -------------------------------------


def test_rate_guard_window_and_grace():
    g = RateGuard(min_bytes_per_s=100, window_s=2.0, grace_s=1.0, start=0.0)
    assert not g.too_slow(0.5)  # grace
    g.add(0.6, 50)
    assert g.too_slow(1.0)  # 50 B in 1 s < 100 B/s
    g.add(1.1, 500)
    assert not g.too_slow(1.5)
    assert not g.too_slow(3.0)  # 500 B over the last 2 s
    assert g.too_slow(3.2)  # the 500 B left the window
    g2 = RateGuard(min_bytes_per_s=1, window_s=10.0, grace_s=0.0, start=0.0)
    assert g2.too_slow(5.0)  # 1 byte per 5 s is 0.2 B/s
    assert not RateGuard(0, 1.0, 0.0, 0.0).too_slow(100.0)  # 0 = no minimum
