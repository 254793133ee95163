"""Webhooks: POST a job to its ``callback_url`` when it reaches a terminal state.

* Body: the job exactly as ``GET /v1/renders/{id}`` returns it (JSON).
* ``X-Signature: sha256=<hex HMAC-SHA256 of the raw body under the configured secret>``
  (absent when no secret is configured), plus ``X-Render-Id``, ``X-Render-Event``
  (completed | failed | cancelled) and ``X-Delivery-Attempt``.
* Any 2xx answer is a delivery. Anything else (or no answer) is retried with exponential
  backoff (``webhook_backoff_s`` × 2ⁿ, ±10 % jitter, at most 5 minutes apart) up to
  ``webhook_retries`` more times; then the job's ``webhook_state`` becomes ``failed``.
* Durable: the store marks a terminal job with a callback ``pending``; pending deliveries are
  picked up again after a restart.
* Egress: deliveries go through the server's :class:`~compositor.egress_client.EgressClient`
  (the address the callback host resolves to is checked and is the one connected to).
  Redirects are not followed (a 3xx is a failed attempt). A ``callback_url`` the policy
  refuses is not retried: ``webhook_state`` becomes ``failed`` at once.

Verify on the receiving side::

    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    hmac.compare_digest(expected, request.headers["X-Signature"])
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
import uuid
from typing import Callable

import aiohttp

from compositor.egress_client import BadUrl, EgressClient, describe_error
from compositor.errors import UrlForbidden

from .jobs.base import JobStore
from .jobs.model import Job
from .metrics import Metrics
from .settings import Settings

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 300.0


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookSender:
    def __init__(
        self,
        settings: Settings,
        store: JobStore,
        session: EgressClient,
        body_of: Callable[[Job], bytes],
        *,
        metrics: Metrics | None = None,
        parallel: int = 8,
    ):
        self.settings = settings
        self.store = store
        self.session = session
        self.body_of = body_of
        self.metrics = metrics
        self.sem = asyncio.Semaphore(parallel)
        self.inflight: set[str] = set()
        self.tasks: set[asyncio.Task] = set()
        self.running = False
        #: this sender's name on a shared store (one node delivers each webhook: take_webhook)
        self.holder = uuid.uuid4().hex

    def _holding_s(self) -> float:
        """How long one delivery (every attempt and back-off) may take at most."""
        s = self.settings
        backoff = sum(min(MAX_BACKOFF_S, s.webhook_backoff_s * 2**i) for i in range(s.webhook_retries))
        return (s.webhook_retries + 1) * s.webhook_timeout_s + backoff * 1.1 + 60.0

    async def start(self) -> None:
        self.running = True
        self.store.add_listener(self._on_change)
        for job in await self.store.pending_webhooks():
            self._schedule(job.id)

    async def stop(self) -> None:
        self.running = False
        for t in list(self.tasks):
            t.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def _on_change(self, job: Job) -> None:
        if job.webhook_state == "pending" and job.terminal and job.callback_url:
            self._schedule(job.id)

    def _schedule(self, job_id: str) -> None:
        if not self.running or job_id in self.inflight:
            return
        self.inflight.add(job_id)
        task = asyncio.get_running_loop().create_task(self._deliver(job_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver(self, job_id: str) -> None:
        try:
            job = await self.store.get(job_id)
            if job is None or job.webhook_state != "pending" or not job.callback_url:
                return
            if not await self.store.take_webhook(job.id, self.holder, self._holding_s()):
                return  # another node of the farm delivers it
            body = self.body_of(job)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "draft-renderer-webhook/1",
                "X-Render-Id": job.id,
                "X-Render-Event": job.state,
            }
            if self.settings.webhook_secret:
                headers["X-Signature"] = sign(body, self.settings.webhook_secret)
            timeout = aiohttp.ClientTimeout(total=self.settings.webhook_timeout_s)
            attempts = job.webhook_attempts
            total = self.settings.webhook_retries + 1
            while attempts < total:
                attempts += 1
                headers["X-Delivery-Attempt"] = str(attempts)
                status = None
                try:
                    async with self.sem:
                        async with self.session.request(
                            "POST",
                            job.callback_url,
                            data=body,
                            headers=headers,
                            timeout=timeout,
                            follow_redirects=False,
                        ) as resp:
                            status = resp.status
                except (UrlForbidden, BadUrl) as exc:
                    log.warning(
                        "webhook for job %s refused: %s",
                        job.id,
                        exc if isinstance(exc, UrlForbidden) else "callback_url is not a valid URL",
                    )
                    self._count("failed")
                    await self.store.set_webhook_state(job.id, "failed", attempts)
                    return
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                    log.info("webhook for job %s (attempt %d): %s", job.id, attempts, describe_error(exc))
                if status is not None and 200 <= status < 300:
                    await self.store.set_webhook_state(job.id, "delivered", attempts)
                    self._count("delivered")
                    return
                self._count("retry" if attempts < total else "failed")
                if attempts >= total:
                    break
                await self.store.set_webhook_state(job.id, "pending", attempts)
                delay = min(MAX_BACKOFF_S, self.settings.webhook_backoff_s * 2 ** (attempts - 1))
                await asyncio.sleep(delay * random.uniform(0.9, 1.1))
            log.warning("webhook for job %s failed after %d attempts", job.id, attempts)
            await self.store.set_webhook_state(job.id, "failed", attempts)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook delivery for job %s crashed", job_id)
        finally:
            self.inflight.discard(job_id)

    def _count(self, outcome: str) -> None:
        if self.metrics:
            self.metrics.webhooks.labels(outcome=outcome).inc()


__all__ = ["WebhookSender", "sign"]
