"""Contract tests of the JobStore protocol, parametrised over backends.

A new backend joins by adding a factory to ``BACKENDS``; every test below must pass
unchanged. Time is injected (``clock``) so lease expiry needs no sleeping. The Redis/Valkey
backend runs against the session's Valkey server (``tests/valkey_server.py``), a fresh key
prefix per test; its own tests (XAUTOCLAIM re-delivery, several nodes) are in
``tests/test_server_jobstore_redis.py``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from pathlib import Path

import pytest
import pytest_asyncio

from server.jobs import (
    CANCELLED,
    COMPLETED,
    FAILED,
    QUEUED,
    RUNNING,
    JobStore,
    NewJob,
    QueueFull,
    RenderSpec,
    SqliteJobStore,
)
from server.jobs.redis import RedisJobStore

pytestmark = pytest.mark.asyncio


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


def _sqlite(request, tmp_path: Path, clock) -> JobStore:
    return SqliteJobStore(tmp_path / "jobs.sqlite3", clock=clock)


def _redis(request, tmp_path: Path, clock) -> JobStore:
    return RedisJobStore(request.getfixturevalue("redis_store_url"), clock=clock)


BACKENDS = {"sqlite": _sqlite, "redis": _redis}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request, tmp_path):
    """A factory of store instances on one shared location (a file, a key prefix): several
    instances are several processes or nodes."""
    return lambda clock=time.time: BACKENDS[request.param](request, tmp_path, clock)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest_asyncio.fixture(params=sorted(BACKENDS))
async def store(request, tmp_path, clock):
    s = BACKENDS[request.param](request, tmp_path, clock)
    await s.open()
    yield s
    await s.close()


def new(**kw) -> NewJob:
    base = dict(kind="native", spec=RenderSpec(width=320), draft_url="http://h/x?draft_id=d1", draft_id="d1")
    base.update(kw)
    return NewJob(**base)


async def test_protocol_is_implemented(store):
    assert isinstance(store, JobStore)


async def test_submit_get_and_counts(store):
    res = await store.submit(new())
    assert res.created
    job = res.job
    assert job.state == QUEUED and job.phase == "queued" and job.progress == 0 and job.attempts == 0
    assert job.spec == RenderSpec(width=320)
    assert (await store.get(job.id)) == job
    assert await store.get("missing") is None
    counts = await store.counts()
    assert counts == {"queued": 1, "running": 0, "completed": 0, "failed": 0, "cancelled": 0}


async def test_idempotency_key_returns_the_active_job(store):
    a = await store.submit(new(idem_key="k"))
    b = await store.submit(new(idem_key="k"))
    assert a.created and not b.created and b.job.id == a.job.id
    assert (await store.get_by_key("k")).id == a.job.id
    # once terminal, the key is free again and get_by_key returns the newest job
    await store.cancel(a.job.id)
    c = await store.submit(new(idem_key="k"))
    assert c.created and c.job.id != a.job.id
    assert (await store.get_by_key("k")).id == c.job.id


async def test_concurrent_submissions_with_one_key_create_one_job(store):
    results = await asyncio.gather(*(store.submit(new(idem_key="same")) for _ in range(50)))
    assert sum(r.created for r in results) == 1
    assert len({r.job.id for r in results}) == 1


async def test_queue_limit(store):
    await store.submit(new(), queue_limit=2)
    await store.submit(new(), queue_limit=2)
    with pytest.raises(QueueFull):
        await store.submit(new(), queue_limit=2)
    # a running job does not count against the queue
    await store.claim("w", 10)
    await store.submit(new(), queue_limit=2)


async def test_claim_is_fifo_and_exclusive(store):
    ids = [(await store.submit(new())).job.id for _ in range(3)]
    claimed = await asyncio.gather(*(store.claim(f"w{i}", 10) for i in range(5)))
    got = [j.id for j in claimed if j is not None]
    assert sorted(got) == sorted(ids) and len(got) == 3
    first = next(j for j in claimed if j is not None and j.id == ids[0])
    assert first.state == RUNNING and first.attempts == 1 and first.owner is not None
    assert first.started_at is not None and first.lease_until is not None


async def test_claim_job_takes_that_queued_job_only(store, clock):
    a = (await store.submit(new())).job
    b = (await store.submit(new())).job
    got = await store.claim_job(b.id, "w1", 10)
    assert got is not None and got.id == b.id and got.state == RUNNING and got.owner == "w1" and got.attempts == 1
    assert await store.claim_job(b.id, "w2", 10) is None  # running: not queued any more
    assert await store.claim_job("missing", "w2", 10) is None
    assert (await store.claim("w2", 10)).id == a.id  # the FIFO claim is unaffected
    clock.advance(11)
    await store.requeue_expired()  # the claimant died: the job is queued again, claimable by id
    again = await store.claim_job(b.id, "w3", 10)
    assert again is not None and again.owner == "w3" and again.attempts == 2
    await store.cancel(a.id)
    await store.finish_cancelled(a.id, "w2")
    assert await store.claim_job(a.id, "w1", 10) is None  # terminal


async def test_chunk_jobs_are_hidden_from_user_lookups(store):
    from server.jobs.model import KIND_CHUNK, ChunkPart

    parent = (await store.submit(new())).job
    part = ChunkPart(parent_id=parent.id, index=0, start_frame=0, end_frame=30, blob_key=f"chunks/{parent.id}/0.mp4")
    chunk = (await store.submit(new(kind=KIND_CHUNK, spec=RenderSpec(width=320, chunk=part)))).job
    assert (await store.get(chunk.id)).spec.chunk == part  # the worker side finds it by id
    assert [j.id for j in await store.list()] == [parent.id]
    assert (await store.counts())[QUEUED] == 1
    assert (await store.counts(key_id=""))[QUEUED] == 1
    assert (await store.latest_by_draft_id("d1", terminal_only=False)).id == parent.id
    with pytest.raises(QueueFull):  # chunks are not counted against the user's queue, the parent is
        await store.submit(new(), queue_limit=1)
    assert (await store.submit(new(), queue_limit=2)).created
    claimed = await store.claim_job(chunk.id, "coordinator", 10)
    assert claimed is not None and claimed.spec.chunk == part
    assert (await store.counts())[RUNNING] == 0


async def test_heartbeat_records_progress_and_checks_owner(store, clock):
    job = (await store.submit(new())).job
    c = await store.claim("w", 10)
    clock.advance(5)
    hb = await store.heartbeat(
        c.id,
        "w",
        10,
        phase="rendering",
        progress=40,
        frames_done=40,
        frames_total=100,
        eta_s=1.5,
        warnings=[{"kind": "text", "status": "skipped"}],
    )
    assert hb.progress == 40 and hb.phase == "rendering" and hb.frames_total == 100 and hb.eta_s == 1.5
    assert hb.lease_until == pytest.approx(clock.t + 10)
    assert hb.warnings == [{"kind": "text", "status": "skipped"}]
    assert await store.heartbeat(job.id, "intruder", 10, progress=99) is None
    assert (await store.get(job.id)).progress == 40


async def test_complete(store):
    job = (await store.submit(new(callback_url="http://cb/"))).job
    await store.claim("w", 10)
    await store.heartbeat(job.id, "w", 10, frames_total=30)
    assert await store.complete(job.id, "other", {"x": 1}) is None
    done = await store.complete(job.id, "w", {"frames": 30}, warnings=[], content_hash="abc")
    assert done.state == COMPLETED and done.progress == 100 and done.frames_done == 30
    assert done.result == {"frames": 30} and done.content_hash == "abc"
    assert done.completed_at is not None and done.owner is None
    assert done.webhook_state == "pending"
    assert [j.id for j in await store.pending_webhooks()] == [job.id]
    await store.set_webhook_state(job.id, "delivered", 1)
    assert await store.pending_webhooks() == []
    # a terminal job cannot be completed, failed or heart-beaten again
    assert await store.complete(job.id, "w", {}) is None
    assert await store.fail(job.id, "w", "RENDER_FAILED", "x") is None


async def test_fail_without_and_with_retry(store):
    a = (await store.submit(new(max_attempts=2))).job
    await store.claim("w", 10)
    f = await store.fail(a.id, "w", "ASSET_UNREACHABLE", "404", {"url": "u", "status": 404})
    assert f.state == FAILED and f.error_code == "ASSET_UNREACHABLE" and f.error_detail == {"url": "u", "status": 404}
    assert f.webhook_state is None  # no callback_url

    b = (await store.submit(new(max_attempts=2))).job
    await store.claim("w", 10)
    r = await store.fail(b.id, "w", "RENDER_FAILED", "died", retry=True)
    assert r.state == QUEUED and r.attempts == 1  # attempt counted, back in the queue
    await store.claim("w", 10)
    r2 = await store.fail(b.id, "w", "RENDER_FAILED", "died again", retry=True)
    assert r2.state == FAILED and r2.attempts == 2  # attempts exhausted


async def test_retry_delay(store, clock):
    b = (await store.submit(new())).job
    await store.claim("w", 10)
    await store.fail(b.id, "w", "RENDER_FAILED", "x", retry=True, retry_delay_s=30)
    assert await store.claim("w", 10) is None
    clock.advance(31)
    assert (await store.claim("w", 10)).id == b.id


async def test_fail_a_queued_job_after_a_background_check(store):
    job = (await store.submit(new(pending_check=True))).job
    assert job.pending_check
    f = await store.fail(job.id, None, "INVALID_DRAFT_URL", "get_draft answered 404")
    assert f.state == FAILED and not f.pending_check
    ok = (await store.submit(new(pending_check=True))).job
    passed = await store.set_check_result(ok.id, content_hash="h")
    assert passed.content_hash == "h" and not passed.pending_check and passed.state == QUEUED


async def test_cancel(store):
    q = (await store.submit(new())).job
    c = await store.cancel(q.id)
    assert c.state == CANCELLED and c.completed_at is not None
    r = (await store.submit(new())).job
    await store.claim("w", 10)
    c2 = await store.cancel(r.id)
    assert c2.state == RUNNING and c2.cancel_requested
    # the worker acknowledges
    done = await store.finish_cancelled(r.id, "w")
    assert done.state == CANCELLED
    # a worker that reports a failure after a cancel request ends cancelled too
    s = (await store.submit(new())).job
    await store.claim("w", 10)
    await store.cancel(s.id)
    assert (await store.fail(s.id, "w", "RENDER_FAILED", "x", retry=True)).state == CANCELLED
    assert await store.cancel("missing") is None
    assert (await store.cancel(q.id)).state == CANCELLED  # idempotent


async def test_lease_expiry_requeues_then_fails(store, clock):
    job = (await store.submit(new(max_attempts=2))).job
    await store.claim("w1", 10)
    clock.advance(5)
    assert await store.requeue_expired() == []
    clock.advance(6)
    [re] = await store.requeue_expired()
    assert re.state == QUEUED and re.error_detail["reason"] == "lease_expired"
    assert await store.heartbeat(job.id, "w1", 10) is None  # the old owner lost it
    again = await store.claim("w2", 10)
    assert again.id == job.id and again.attempts == 2
    clock.advance(11)
    [gone] = await store.requeue_expired()
    assert gone.state == FAILED and gone.error_code == "RENDER_FAILED"


async def test_requeue_everything_at_start_up(store):
    job = (await store.submit(new())).job
    await store.claim("dead-server", 3600)
    [re] = await store.requeue_expired(float("inf"))
    assert re.id == job.id and re.state == QUEUED


async def test_release_does_not_count_the_attempt(store):
    job = (await store.submit(new())).job
    await store.claim("w", 10)
    rel = await store.release(job.id, "w")
    assert rel.state == QUEUED and rel.attempts == 0


async def test_list_and_pagination(store):
    ids = [(await store.submit(new())).job.id for _ in range(5)]
    await store.cancel(ids[0])
    page = await store.list(limit=2)
    assert [j.id for j in page] == ids[:-3:-1]
    page2 = await store.list(limit=2, before_seq=page[-1].seq)
    assert [j.id for j in page2] == [ids[2], ids[1]]
    assert [j.id for j in await store.list(state=CANCELLED)] == [ids[0]]


async def test_lookup_by_draft_id(store):
    a = (await store.submit(new(kind="capcut", draft_id="D"))).job
    assert await store.latest_by_draft_id("D") is None  # not terminal yet
    assert (await store.latest_by_draft_id("D", terminal_only=False)).id == a.id
    await store.cancel(a.id)
    assert (await store.latest_by_draft_id("D", kind="capcut")).id == a.id
    assert await store.latest_by_draft_id("D", kind="native") is None


async def test_inline_draft_is_kept_beside_the_job(store):
    job = (await store.submit(new(draft_url=None, inline_draft=b'{"tracks": []}'))).job
    assert job.has_inline_draft
    assert await store.get_inline_draft(job.id) == b'{"tracks": []}'
    assert await store.get_inline_draft("missing") is None


async def test_purge_after_retention(store, clock):
    old = (await store.submit(new(draft_url=None, inline_draft=b"{}"))).job
    await store.cancel(old.id)
    clock.advance(100)
    fresh = (await store.submit(new())).job
    await store.cancel(fresh.id)
    active = (await store.submit(new())).job
    gone = await store.purge(clock.t - 50)
    assert [j.id for j in gone] == [old.id]
    assert await store.get(old.id) is None and await store.get_inline_draft(old.id) is None
    assert await store.get(fresh.id) is not None and await store.get(active.id) is not None
    assert (await store.counts())["cancelled"] == 1


async def test_watch_yields_versions_until_terminal(store):
    job = (await store.submit(new())).job
    seen = []

    async def reader():
        async for j in store.watch(job.id):
            seen.append((j.state, j.progress))

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.05)
    await store.claim("w", 10)
    await asyncio.sleep(0.02)
    await store.heartbeat(job.id, "w", 10, progress=50)
    await asyncio.sleep(0.02)
    await store.complete(job.id, "w", {})
    await asyncio.wait_for(task, 5)
    assert seen[0] == (QUEUED, 0) and seen[-1] == (COMPLETED, 100)
    assert (RUNNING, 50) in seen
    assert [s for s in seen if s[0] == COMPLETED] == [(COMPLETED, 100)]
    # an unknown job: nothing; a terminal job: one item
    assert [j async for j in store.watch("missing")] == []
    assert [j.state async for j in store.watch(job.id)] == [COMPLETED]


async def test_listeners_see_every_change(store):
    changes = []
    store.add_listener(lambda j: changes.append(j.state))
    job = (await store.submit(new())).job
    await store.claim("w", 10)
    await store.complete(job.id, "w", {})
    assert changes == [QUEUED, RUNNING, COMPLETED]


def node(node_id: str, **kw) -> dict:
    base = {
        "id": node_id,
        "host": "box-1",
        "pid": 4242,
        "slots": 2,
        "jobs": [],
        "role": "worker",
        "started_at": 1_800_000_000.0,
    }
    base.update(kw)
    return base


async def test_worker_registry_heartbeat_and_expiry(store, clock):
    assert await store.list_workers() == []
    await store.register_worker(node("n2"), 10)
    await store.register_worker(node("n1", role="api+worker", jobs=["j1"]), 10)
    listed = await store.list_workers()
    assert [w["id"] for w in listed] == ["n1", "n2"]
    n1 = listed[0]
    assert n1["jobs"] == ["j1"] and n1["slots"] == 2 and n1["role"] == "api+worker" and n1["host"] == "box-1"
    assert n1["seen_at"] == clock.t and n1["pid"] == 4242
    clock.advance(6)
    await store.register_worker(node("n1", jobs=[]), 10)  # n1 heart-beats, n2 does not
    clock.advance(6)
    [alive] = await store.list_workers()
    assert alive["id"] == "n1" and alive["jobs"] == [] and alive["seen_at"] == clock.t - 6
    await store.register_worker(node("n1"), 0)  # a node that stops leaves at once
    assert await store.list_workers() == []


async def test_survives_reopen(backend, clock):
    s = backend(clock)
    await s.open()
    q = (await s.submit(new())).job
    r = (await s.submit(new())).job
    await s.claim("w", 10)
    await s.close()
    s2 = backend(clock)
    await s2.open()
    try:
        assert (await s2.get(q.id)).state == RUNNING  # the first one was claimed
        assert (await s2.get(r.id)).state == QUEUED
        assert (await s2.counts())["queued"] == 1
    finally:
        await s2.close()


def _open_store(location: str) -> JobStore:
    if location.startswith("redis://"):
        return RedisJobStore(location)
    return SqliteJobStore(location)


def _claim_many(location: str, owner: str, n: int, out) -> None:
    async def run():
        s = _open_store(location)
        await s.open()
        got = []
        for _ in range(n):
            j = await s.claim(owner, 60)
            if j is not None:
                got.append(j.id)
        await s.close()
        out.put(got)

    asyncio.run(run())


async def test_claims_from_two_processes_never_duplicate(backend):
    s = backend()
    await s.open()
    location = str(s.path) if isinstance(s, SqliteJobStore) else f"{s.config.url}?prefix={s.config.prefix}"
    await asyncio.gather(*(s.submit(new()) for _ in range(400)))
    await s.close()
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_claim_many, args=(location, f"p{i}", 300, out)) for i in range(2)]
    for p in procs:
        p.start()
    got = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    all_ids = got[0] + got[1]
    assert len(all_ids) == 400 and len(set(all_ids)) == 400
