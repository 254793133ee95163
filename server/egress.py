"""The service's egress policy and download limits, built from its settings (pure).

One :class:`~compositor.egress.EgressPolicy` per server: the submission check, webhooks and
(sent as plain data in each job message) the worker's downloads all use it. See
docs/security.md, "Egress policy".
"""

from __future__ import annotations

from typing import Any

import yarl

from compositor.egress import EgressPolicy
from compositor.fetch import FetchLimits

from .settings import Settings

__all__ = ["egress_policy", "fetch_limits", "egress_spec", "from_egress_spec"]


def egress_policy(settings: Settings) -> EgressPolicy:
    """ValueError names an allowlist entry that is not a host, host:port, IP or CIDR."""
    return EgressPolicy.from_settings(
        settings.url_allowlist,
        allow_private=settings.allow_private_networks,
        allowlist_only=settings.url_allowlist_only,
        denylist=storage_denylist(settings),
    )


def storage_denylist(settings: Settings) -> list[str]:
    """-- object storage: the configured S3 endpoint (``host:port``) is the operator's, not a
    place user URLs may reach, whatever the allowlist says. (Without ``--s3-endpoint-url`` the
    store is AWS: public hosts that user drafts may legitimately live on; a request there
    carries no credentials of ours.)"""
    url = settings.s3_endpoint_url if settings.storage != "local" else None
    if not url:
        return []
    u = yarl.URL(url)
    if not u.host:
        return []
    port = u.port if u.port is not None else (443 if u.scheme == "https" else 80)
    host = f"[{u.host}]" if ":" in u.host else u.host
    return [f"{host}:{port}"]


def fetch_limits(settings: Settings) -> FetchLimits:
    return FetchLimits(deadline_s=settings.download_timeout_s, min_bytes_per_s=settings.download_min_bytes_per_s)


def egress_spec(settings: Settings) -> dict[str, Any]:
    """What a worker needs to rebuild the policy and the limits (plain data for the pipe)."""
    return {
        "allowlist": list(settings.url_allowlist),
        "allow_private": settings.allow_private_networks,
        "allowlist_only": settings.url_allowlist_only,
        "denylist": storage_denylist(settings),
        "download_timeout_s": settings.download_timeout_s,
        "download_min_bytes_per_s": settings.download_min_bytes_per_s,
    }


def from_egress_spec(spec: dict[str, Any]) -> tuple[EgressPolicy, FetchLimits]:
    policy = EgressPolicy.from_settings(
        spec["allowlist"],
        allow_private=spec["allow_private"],
        allowlist_only=spec["allowlist_only"],
        denylist=spec.get("denylist", ()),
    )
    return policy, FetchLimits(deadline_s=spec["download_timeout_s"], min_bytes_per_s=spec["download_min_bytes_per_s"])
