"""Typed keys of the application's state (``app[KEY]``); the objects are made in ``server.app``."""

from __future__ import annotations

from aiohttp import web

from compositor.egress_client import EgressClient

from .drafts import BackgroundChecks, DraftChecker
from .jobs.base import JobStore
from .metrics import Metrics
from .settings import Settings
from .storage import LocalStorage
from .webhooks import WebhookSender
from .worker import WorkerPool

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", JobStore)
STORAGE = web.AppKey("storage", LocalStorage)
METRICS = web.AppKey("metrics", Metrics)
INSTANCE_ID = web.AppKey("instance_id", str)
HTTP = web.AppKey("http_client", EgressClient)
CHECKER = web.AppKey("draft_checker", DraftChecker)
BG_CHECKS = web.AppKey("background_checks", BackgroundChecks)
POOL = web.AppKey("worker_pool", WorkerPool)
WEBHOOKS = web.AppKey("webhooks", WebhookSender)

__all__ = ["SETTINGS", "STORE", "STORAGE", "METRICS", "INSTANCE_ID", "HTTP", "CHECKER", "BG_CHECKS", "POOL", "WEBHOOKS"]
