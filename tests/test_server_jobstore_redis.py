"""The Redis/Valkey job store beyond the shared contract (tests/test_server_jobstore.py): leases
as pending stream entries re-delivered by XAUTOCLAIM, several nodes on one store (watch,
listeners, cancel reaching the owner), claim_job, the worker registry, lost consumer groups,
and store URL parsing (parse only: nothing but the loopback test server is ever contacted).
"""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from redis.asyncio.connection import SSLConnection, parse_url

from server.jobs import CANCELLED, COMPLETED, QUEUED, RUNNING, NewJob, RenderSpec
from server.jobs.redis import RedisJobStore
from server.jobs.redis_codec import DEFAULT_PREFIX, parse_store_url
from tests.valkey_server import delete_prefix


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


def new(**kw) -> NewJob:
    base = dict(kind="native", spec=RenderSpec(width=320), draft_url="http://h/x?draft_id=d1", draft_id="d1")
    base.update(kw)
    return NewJob(**base)


@pytest_asyncio.fixture
async def nodes(redis_store_url):
    """Open stores on one key space: each is another node (API or worker)."""
    opened: list[RedisJobStore] = []

    async def make(clock=time.time) -> RedisJobStore:
        s = RedisJobStore(redis_store_url, clock=clock)
        await s.open()
        opened.append(s)
        return s

    yield make
    for s in opened:
        await s.close()


async def _pending(store: RedisJobStore) -> list[dict]:
    return await store._r.xpending_range(store.keys.lease, "g", min="-", max="+", count=100)


async def _claim_when_idle(store: RedisJobStore, owner: str, lease_s: float, tries: int = 200):
    for _ in range(tries):
        job = await store.claim(owner, lease_s)
        if job is not None:
            return job
        await asyncio.sleep(0.02)
    return None


@pytest.mark.asyncio
async def test_a_dead_owners_lease_is_redelivered_by_xautoclaim(nodes):
    dead, alive = await nodes(), await nodes()
    job = (await dead.submit(new(max_attempts=3))).job
    first = await dead.claim("dead-worker", 0.2)
    assert first.id == job.id and first.attempts == 1
    [entry] = await _pending(dead)
    assert entry["consumer"] == b"dead-worker"
    # no reaper runs: the other node's claim finds the idle pending entry and takes the job over
    again = await _claim_when_idle(alive, "alive-worker", 0.2)
    assert again is not None and again.id == job.id
    assert again.state == RUNNING and again.owner == "alive-worker" and again.attempts == 2
    assert again.error_detail == {"reason": "lease_expired", "owner": "dead-worker"}
    [entry] = await _pending(alive)
    assert entry["consumer"] == b"alive-worker"
    # the dead owner cannot touch it any more; the new owner completes it exactly once
    assert await dead.heartbeat(job.id, "dead-worker", 10) is None
    assert await dead.complete(job.id, "dead-worker", {}) is None
    done = await alive.complete(job.id, "alive-worker", {"ok": 1})
    assert done.state == COMPLETED and done.attempts == 2
    assert await _pending(alive) == []
    assert (await alive.counts())["completed"] == 1


@pytest.mark.asyncio
async def test_the_last_attempt_of_a_dead_owner_fails_the_job(nodes):
    dead, alive = await nodes(), await nodes()
    job = (await dead.submit(new(max_attempts=1))).job
    await dead.claim("dead-worker", 0.2)
    changes = []
    alive.add_listener(lambda j: changes.append(j.state))
    for _ in range(200):
        if (await alive.get(job.id)).state != RUNNING:
            break
        assert await alive.claim("alive-worker", 0.2) is None
        await asyncio.sleep(0.02)
    gone = await alive.get(job.id)
    assert gone.state == "failed" and gone.error_code == "RENDER_FAILED" and gone.attempts == 1
    assert "failed" in changes
    assert await _pending(alive) == []


@pytest.mark.asyncio
async def test_a_live_lease_is_handed_back_to_its_owner(nodes):
    clock = Clock()
    owner_node, other = await nodes(clock), await nodes(clock)
    job = (await owner_node.submit(new())).job
    await owner_node.claim("owner", 60)  # lease by the store clock: not over
    await asyncio.sleep(0.3)  # but the pending entry has been idle for longer than the other's lease
    assert await other.claim("thief", 0.1) is None
    [entry] = await _pending(other)
    assert entry["consumer"] == b"owner"
    hb = await owner_node.heartbeat(job.id, "owner", 60, progress=10)
    assert hb is not None and hb.owner == "owner" and hb.attempts == 1


@pytest.mark.asyncio
async def test_watch_on_another_node_sees_every_change(nodes):
    worker, api = await nodes(), await nodes()
    job = (await api.submit(new())).job
    seen, remote_changes = [], []
    api.add_listener(lambda j: remote_changes.append((j.state, j.progress)))

    async def reader():
        async for j in api.watch(job.id):
            seen.append((j.state, j.progress))

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.05)
    await worker.claim("w", 10)
    await asyncio.sleep(0.05)
    await worker.heartbeat(job.id, "w", 10, progress=50)
    await asyncio.sleep(0.05)
    await worker.complete(job.id, "w", {})
    await asyncio.wait_for(task, 10)
    assert seen[0] == (QUEUED, 0) and seen[-1] == (COMPLETED, 100)
    assert (RUNNING, 50) in seen
    assert remote_changes == [(RUNNING, 0), (RUNNING, 50), (COMPLETED, 100)]


@pytest.mark.asyncio
async def test_cancel_on_an_api_node_reaches_the_running_owner(nodes):
    worker, api = await nodes(), await nodes()
    job = (await api.submit(new())).job
    await worker.claim("w", 10)
    asked = asyncio.Event()
    # the worker pool learns of cancels from its listener (server.worker.WorkerPool._on_change)
    worker.add_listener(lambda j: asked.set() if j.id == job.id and j.cancel_requested else None)
    c = await api.cancel(job.id)
    assert c.state == RUNNING and c.cancel_requested
    await asyncio.wait_for(asked.wait(), 10)
    hb = await worker.heartbeat(job.id, "w", 10, progress=5)
    assert hb.cancel_requested
    done = await worker.finish_cancelled(job.id, "w")
    assert done.state == CANCELLED and (await api.get(job.id)).state == CANCELLED


@pytest.mark.asyncio
async def test_claim_job_takes_that_job_only(nodes):
    clock = Clock()
    s = await nodes(clock)
    a = (await s.submit(new())).job
    b = (await s.submit(new())).job
    got = await s.claim_job(b.id, "coordinator", 10)
    assert got.id == b.id and got.state == RUNNING and got.attempts == 1 and got.owner == "coordinator"
    assert await s.claim_job(b.id, "other", 10) is None  # not queued any more
    assert (await s.claim("w", 10)).id == a.id
    assert await s.claim("w", 10) is None  # b is not in the waiting line twice
    clock.advance(11)
    requeued = {j.id: j.state for j in await s.requeue_expired()}
    assert requeued == {a.id: QUEUED, b.id: QUEUED}


@pytest.mark.asyncio
async def test_worker_registry_expires_by_ttl(nodes):
    clock = Clock()
    s = await nodes(clock)
    await s.register_worker({"id": "n2", "host": "h", "slots": 2, "jobs": []}, 10)
    await s.register_worker({"id": "n1", "host": "h", "slots": 1, "jobs": ["j"]}, 30)
    assert [w["id"] for w in await s.list_workers()] == ["n1", "n2"]
    assert (await s.list_workers())[0]["seen_at"] == clock.t
    clock.advance(11)
    assert [w["id"] for w in await s.list_workers()] == ["n1"]
    await s.register_worker({"id": "n1"}, 0)
    assert await s.list_workers() == []


@pytest.mark.asyncio
async def test_a_server_that_lost_its_data_gets_its_groups_back(nodes, redis_store_url):
    s = await nodes()
    await s.submit(new())
    config = parse_store_url(redis_store_url)
    delete_prefix(config.url, config.prefix)  # as after a restart without persistence
    job = (await s.submit(new())).job
    assert (await s.claim("w", 10)).id == job.id


@pytest.mark.asyncio
async def test_two_runs_with_other_prefixes_do_not_meet(valkey_url):
    a = RedisJobStore(f"{valkey_url}?prefix=runA{time.monotonic_ns()}:")
    b = RedisJobStore(f"{valkey_url}?prefix=runB{time.monotonic_ns()}:")
    await a.open()
    await b.open()
    try:
        job = (await a.submit(new())).job
        assert await b.get(job.id) is None and await b.claim("w", 10) is None
    finally:
        for s in (a, b):
            delete_prefix(s.config.url, s.config.prefix)
            await s.close()


# -- URLs (parsed only) -----------------------------------------------------------------------


def test_store_url_with_tls_password_and_prefix():
    cfg = parse_store_url("rediss://user:s3cr%40t@127.0.0.2:6380/2?prefix=farm1:&socket_timeout=5")
    assert cfg.prefix == "farm1:"
    assert "prefix" not in cfg.url and "socket_timeout=5" in cfg.url
    kwargs = parse_url(cfg.url)
    assert kwargs["connection_class"] is SSLConnection
    assert kwargs["username"] == "user" and kwargs["password"] == "s3cr@t"
    assert kwargs["host"] == "127.0.0.2" and kwargs["port"] == 6380 and kwargs["db"] == 2
    assert "s3cr" not in cfg.redacted and "***" in cfg.redacted
    # a client is built from the URL without connecting anywhere
    client = aioredis.Redis.from_url(cfg.url)
    assert client.connection_pool.connection_kwargs["password"] == "s3cr@t"


def test_store_url_defaults_and_password_only():
    cfg = parse_store_url("redis://:pw@127.0.0.1")
    assert cfg.prefix == DEFAULT_PREFIX
    assert parse_url(cfg.url)["password"] == "pw"
    assert cfg.redacted == "redis://:***@127.0.0.1"


@pytest.mark.parametrize(
    "bad",
    ["sqlite", "http://h:1/0", "redis://", "redis://h:notaport/0", "redis://h/x", "redis://h/0?prefix=a b"],
)
def test_store_url_errors(bad):
    with pytest.raises(ValueError):
        parse_store_url(bad)


@pytest.mark.asyncio
async def test_one_node_at_a_time_delivers_a_webhook(nodes):
    a, b = await nodes(), await nodes()
    job = (await a.submit(new(callback_url="http://127.0.0.1:9/cb"))).job
    await a.cancel(job.id)
    # both nodes' webhook senders see the terminal change; only one takes the delivery
    assert await a.take_webhook(job.id, "sender-a", 60)
    assert not await b.take_webhook(job.id, "sender-b", 60)
    assert await a.take_webhook(job.id, "sender-a", 60)  # the holder keeps it
    assert [j.id for j in await b.pending_webhooks()] == [job.id]


@pytest.mark.asyncio
async def test_a_watcher_survives_a_lost_event_subscription(nodes):
    worker, api = await nodes(), await nodes()
    job = (await api.submit(new())).job
    await worker.claim("w", 10)
    states = []

    async def reader():
        async for j in api.watch(job.id):
            states.append(j.state)

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.05)
    await api._r.client_kill_filter(_type="pubsub")  # every subscription on the server drops
    await worker.complete(job.id, "w", {})  # its event may be sent while nobody listens
    await asyncio.wait_for(task, 10)
    assert states[-1] == COMPLETED
