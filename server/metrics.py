"""Prometheus metrics on a per-application ``CollectorRegistry`` (no module-level singletons).

Exposed at ``GET /metrics``: jobs by state and queue depth (read from the store when scraped),
render seconds, frames per second, HTTP requests, webhook deliveries, worker restarts/crashes.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

RENDER_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600)
FPS_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 240, 480)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.jobs = Gauge("draft_render_jobs", "Jobs in the store by state", ["state"], registry=r)
        self.queue_depth = Gauge("draft_render_queue_depth", "Jobs waiting for a worker", registry=r)
        self.running = Gauge("draft_render_running", "Renders running now", registry=r)
        self.workers_alive = Gauge("draft_render_workers_alive", "Live worker processes", registry=r)
        self.submitted = Counter("draft_render_jobs_submitted", "Jobs created", ["api"], registry=r)
        self.finished = Counter(
            "draft_render_jobs_finished", "Jobs that reached a terminal state", ["state", "error_code"], registry=r
        )
        self.render_seconds = Histogram(
            "draft_render_render_seconds", "Wall time of successful renders", buckets=RENDER_BUCKETS, registry=r
        )
        self.fps = Histogram(
            "draft_render_frames_per_second", "Frames rendered per second (per job)", buckets=FPS_BUCKETS, registry=r
        )
        self.frames = Counter("draft_render_frames", "Frames rendered", registry=r)
        self.http_requests = Counter("draft_render_http_requests", "HTTP requests", ["route", "status"], registry=r)
        self.http_latency = Histogram(
            "draft_render_http_request_seconds", "HTTP handler latency", ["route"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.webhooks = Counter("draft_render_webhook_deliveries", "Webhook delivery attempts", ["outcome"], registry=r)
        self.worker_starts = Counter("draft_render_worker_starts", "Worker processes started", registry=r)
        self._req_children: dict = {}
        self._lat_children: dict = {}
        self.worker_crashes = Counter("draft_render_worker_crashes", "Worker processes that died mid-job", registry=r)

    def count_finished(self, job) -> None:
        """A store listener: count a job that reached a terminal state."""
        if job.terminal:
            self.finished.labels(state=job.state, error_code=job.error_code or "").inc()

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        """Count one HTTP request (label children are cached: this runs on every request)."""
        key = (route, status)
        child = self._req_children.get(key)
        if child is None:
            child = self._req_children[key] = self.http_requests.labels(route=route, status=str(status))
        child.inc()
        lat = self._lat_children.get(route)
        if lat is None:
            lat = self._lat_children[route] = self.http_latency.labels(route=route)
        lat.observe(seconds)

    def set_counts(self, counts: dict[str, int]) -> None:
        for state, n in counts.items():
            self.jobs.labels(state=state).set(n)
        self.queue_depth.set(counts.get("queued", 0))
        self.running.set(counts.get("running", 0))

    def render_done(self, elapsed_s: float, frames: int) -> None:
        self.render_seconds.observe(elapsed_s)
        self.frames.inc(frames)
        if elapsed_s > 0:
            self.fps.observe(frames / elapsed_s)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


__all__ = ["Metrics"]
