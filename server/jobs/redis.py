"""The shared job store on Redis ≥ 6.2 / Valkey ≥ 7.2 (redis-py asyncio; does network I/O).

Selected with ``--store redis://host:port/db`` (``rediss://`` for TLS, a password in the URL,
``?prefix=`` for the key prefix, default ``draft:``). Any number of API and worker nodes share
one store; see docs/scale-out.md for the data layout and what holds on failover.

* Every state transition is one Lua script (``server.jobs.redis_lua``), so claim, completion
  by the lease owner and cancel are atomic on the server; the caller's clock drives leases.
* The queue is a stream with a consumer group; a running job's lease is a pending entry of the
  lease stream owned by the consumer named after the owner. ``claim`` first ``XAUTOCLAIM``s
  entries idle for longer than a lease (their owner stopped heart-beating) and re-delivers
  such a job with the same attempt counting as ``requeue_expired``.
* Every change is published on one PUB/SUB channel with the whole job; each store instance
  feeds the changes of other nodes into its :class:`WatchHub`, its own changes directly when
  the script returns (listeners see them before the call returns, as with SQLite). After the
  subscription is re-established the watched jobs are read again, so a watcher never misses
  a terminal version.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import math
import time
import uuid
from typing import Any, AsyncIterator, Callable

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError
from redis.exceptions import ResponseError

from . import redis_lua
from .base import states_dict
from .hub import Listener, WatchHub
from .model import KIND_CHUNK, STATES, Job, NewJob, QueueFull, SubmitResult
from .redis_codec import (
    Keys,
    StoreUrl,
    changes,
    job_from_event,
    job_from_flat,
    job_from_json,
    new_job_fields,
    num,
    parse_store_url,
)

log = logging.getLogger(__name__)

GROUP = "g"
_BATCH = 500
_ANY_OWNER = "\0"
_PIPELINE = 256  # script calls per pipeline at most
_SENDERS = 4  # pipelines on their way at once


class RedisJobStore:
    """``JobStore`` on Redis/Valkey. See the module docstring."""

    def __init__(
        self,
        url: str | StoreUrl,
        *,
        prefix: str | None = None,
        clock: Callable[[], float] = time.time,
        max_connections: int = 64,
    ):
        self.config = parse_store_url(url) if isinstance(url, str) else url
        if prefix is not None:
            self.config = msgspec.structs.replace(self.config, prefix=prefix)
        self.keys = Keys(self.config.prefix)
        self.clock = clock
        self.hub = WatchHub()
        #: this instance's id in published events (its own events are not fed back to it)
        self.node_id = uuid.uuid4().hex[:16]
        self._own_event_mark = f"{self.node_id} ".encode()
        self._max_connections = max_connections
        self._redis: aioredis.Redis | None = None
        self._shas: dict[str, str] = {}
        self._pending: builtins.list[tuple[str, builtins.list[Any], asyncio.Future]] = []
        self._senders: set[asyncio.Task] = set()
        self._pubsub: Any = None
        self._events_task: asyncio.Task | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    async def open(self) -> None:
        if self._redis is not None:
            return
        pool = aioredis.BlockingConnectionPool.from_url(
            self.config.url, max_connections=self._max_connections, timeout=30
        )
        r = self._redis = aioredis.Redis(connection_pool=pool)
        try:
            await r.ping()
            await self._ensure_groups()
            await self._load_scripts()
            self._pubsub = r.pubsub(ignore_subscribe_messages=True)
            await self._pubsub.subscribe(self.keys.events)
        except BaseException:
            await self._close_client()
            raise
        self._events_task = asyncio.create_task(self._events(), name="jobstore-redis-events")
        log.info("job store: %s (prefix %r)", self.config.redacted, self.config.prefix)

    async def close(self) -> None:
        if self._events_task is not None:
            self._events_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._events_task
            self._events_task = None
        await self._close_client()

    async def _close_client(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose(close_connection_pool=True)
            self._redis = None

    async def _ensure_groups(self) -> None:
        for stream in (self.keys.queue, self.keys.lease):
            try:
                await self._r.xgroup_create(stream, GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if not str(exc).startswith("BUSYGROUP"):
                    raise

    @property
    def _r(self) -> aioredis.Redis:
        if self._redis is None:
            raise RuntimeError("the job store is not open")
        return self._redis

    # -- scripts --------------------------------------------------------------------------------
    async def _run(self, name: str, *args: Any) -> list:
        """Run one script. Calls made while others are on their way are sent together in one
        pipeline (group commit, as the SQLite store batches its transactions)."""
        argv = [self.keys.prefix, self.node_id, num(self.clock()), *args]
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending.append((name, argv, fut))
        if len(self._senders) < _SENDERS:
            task = asyncio.get_running_loop().create_task(self._send())
            self._senders.add(task)
            task.add_done_callback(self._senders.discard)
        return await fut

    async def _send(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:_PIPELINE], self._pending[_PIPELINE:]
            try:
                replies = await self._execute([(name, argv) for name, argv, _ in batch])
            except BaseException as exc:  # noqa: BLE001 - handed to every caller of the batch
                for _, _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc if isinstance(exc, Exception) else RuntimeError("job store closed"))
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, _, fut), reply in zip(batch, replies):
                if fut.done():
                    continue
                if isinstance(reply, Exception):
                    fut.set_exception(reply)
                else:
                    fut.set_result(reply)

    async def _execute(self, calls: builtins.list[tuple[str, builtins.list[Any]]]) -> builtins.list[Any]:
        """EVALSHA each call in one pipeline; load scripts the server lost (NOSCRIPT) and
        recreate lost consumer groups (NOGROUP), then run those calls again."""
        replies: builtins.list[Any] = [None] * len(calls)
        todo = list(range(len(calls)))
        for attempt in range(3):
            async with self._r.pipeline(transaction=False) as pipe:
                for i in todo:
                    name, argv = calls[i]
                    pipe.evalsha(self._shas[name], 0, *argv)
                out = await pipe.execute(raise_on_error=False)
            again, lost_scripts, lost_groups = [], False, False
            for i, reply in zip(todo, out):
                replies[i] = reply
                if isinstance(reply, NoScriptError):
                    lost_scripts = True
                    again.append(i)
                elif isinstance(reply, ResponseError) and "NOGROUP" in str(reply):  # Redis 6.2 wraps it
                    lost_groups = True
                    again.append(i)
            if not again or attempt == 2:
                break
            if lost_scripts:
                await self._load_scripts()
            if lost_groups:
                # the server lost its data (a restart without persistence): recreate the groups
                log.warning("job store: consumer groups missing on %s; recreating them", self.config.redacted)
                await self._ensure_groups()
            todo = again
        return replies

    async def _load_scripts(self) -> None:
        for name in redis_lua.SCRIPTS:
            self._shas[name] = await self._r.script_load(redis_lua.source(name))

    async def _transition(self, name: str, *args: Any) -> Job | None:
        """Run a transition script; publish the jobs it changed; return the last one."""
        reply = await self._run(name, *args)
        value, docs = reply[0], reply[1:]
        if value == b"unchanged":
            return job_from_json(docs[0])
        job = None
        for doc in docs:
            job = job_from_json(doc)
            self.hub.publish(job)
        return job if value is not None else None

    # -- events from other nodes ------------------------------------------------------------------
    async def _events(self) -> None:
        ps = self._pubsub
        while True:
            try:
                msg = await ps.get_message(ignore_subscribe_messages=True, timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the subscription must outlive any failure
                log.warning("job store: event subscription lost (%s); re-subscribing", exc)
                await asyncio.sleep(0.5)
                try:
                    await ps.subscribe(self.keys.events)
                    await self._resync()
                except Exception as again:  # noqa: BLE001 - tried again after the next failure
                    log.warning("job store: re-subscribing failed (%s)", again)
                continue
            if msg is None or msg.get("type") != "message":
                continue
            data = msg["data"]
            if data.startswith(self._own_event_mark):
                continue  # this instance's change: published when its script returned
            try:
                job = job_from_event(data)
            except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
                log.exception("job store: undecodable event")
                continue
            self.hub.publish(job)

    async def _resync(self) -> None:
        """Read every watched job again (events sent while unsubscribed were lost)."""
        for job_id in self.hub.watched_ids():
            job = await self.get(job_id)
            if job is not None:
                self.hub.publish(job)

    # -- submission and lookup ----------------------------------------------------------------
    async def submit(self, new: NewJob, *, queue_limit: int | None = None) -> SubmitResult:
        job_id = uuid.uuid4().hex
        fields = new_job_fields(self.keys, job_id, new, self.clock())
        reply = await self._run(
            "submit",
            job_id,
            msgspec.json.encode(fields),
            fields.get("_ik", ""),
            "" if queue_limit is None else str(queue_limit),
            new.inline_draft if new.inline_draft is not None else b"",
            "1" if new.inline_draft is not None else "0",
        )
        value = reply[0]
        if value == b"full":
            raise QueueFull(queue_limit or 0)
        job = job_from_json(reply[1])
        if value == b"existing":
            return SubmitResult(job, False)
        self.hub.publish(job)
        return SubmitResult(job, True)

    async def _get_many(self, ids: builtins.list[Any]) -> builtins.list[Job | None]:
        if not ids:
            return []
        async with self._r.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hgetall(self.keys.job(job_id.decode() if isinstance(job_id, bytes) else job_id))
            flats = await pipe.execute()
        return [job_from_flat(f) for f in flats]

    async def get(self, job_id: str, *, key_id: str | None = None) -> Job | None:
        job = job_from_flat(await self._r.hgetall(self.keys.job(job_id)))
        if job is None or (key_id is not None and job.key_id != key_id):
            return None
        return job

    async def get_by_key(self, idem_key: str, *, key_id: str | None = None) -> Job | None:
        zset = self.keys.idem_jobs_any_owner(idem_key) if key_id is None else self.keys.idem_jobs(key_id, idem_key)
        ids = await self._r.zrevrange(zset, 0, 0)
        return (await self._get_many(ids))[0] if ids else None

    async def latest_by_draft_id(
        self, draft_id: str, *, kind: str | None = None, terminal_only: bool = True, key_id: str | None = None
    ) -> Job | None:
        zset, start = self.keys.draft(draft_id), 0
        while True:
            ids = await self._r.zrevrange(zset, start, start + 49)
            for job in await self._get_many(ids):
                if job is None:
                    continue
                if key_id is not None and job.key_id != key_id:
                    continue
                if kind is not None and job.kind != kind:
                    continue
                if kind is None and job.kind == KIND_CHUNK:  # internal parts stay hidden
                    continue
                if terminal_only and not job.terminal:
                    continue
                return job
            if len(ids) < 50:
                return None
            start += 50

    async def get_inline_draft(self, job_id: str) -> bytes | None:
        data: Any = await self._r.get(self.keys.inline(job_id))
        return bytes(data) if data is not None else None

    async def list(
        self, *, state: str | None = None, limit: int = 100, before_seq: int | None = None, key_id: str | None = None
    ) -> builtins.list[Job]:
        if key_id is None:
            zset = self.keys.all if state is None else self.keys.state(state)
        else:
            zset = self.keys.owner(key_id) if state is None else self.keys.owner_state(key_id, state)
        top = "+inf" if before_seq is None else f"({before_seq}"
        ids = await self._r.zrevrangebyscore(zset, top, "-inf", start=0, num=limit)
        return [j for j in await self._get_many(ids) if j is not None]

    async def counts(self, *, key_id: str | None = None) -> dict[str, int]:
        async with self._r.pipeline(transaction=False) as pipe:
            for s in STATES:
                pipe.zcard(self.keys.state(s) if key_id is None else self.keys.owner_state(key_id, s))
            ns = await pipe.execute()
        return states_dict(zip(STATES, ns))

    # -- the worker side ----------------------------------------------------------------------
    async def claim(self, owner: str, lease_s: float) -> Job | None:
        lease_ms = str(max(1, int(lease_s * 1000)))
        return await self._transition("claim", owner, num(self.clock() + lease_s), lease_ms)

    async def claim_job(self, job_id: str, owner: str, lease_s: float) -> Job | None:
        return await self._transition("claim_job", job_id, owner, num(self.clock() + lease_s))

    async def heartbeat(
        self,
        job_id: str,
        owner: str,
        lease_s: float,
        *,
        phase: str | None = None,
        progress: int | None = None,
        frames_done: int | None = None,
        frames_total: int | None = None,
        eta_s: float | None = None,
        warnings: builtins.list[dict[str, Any]] | None = None,
    ) -> Job | None:
        fields = {
            "phase": phase,
            "progress": progress,
            "frames_done": frames_done,
            "frames_total": frames_total,
            "eta_s": eta_s,
            "warnings": warnings,
        }
        sets = {k: v for k, v in fields.items() if v is not None}
        return await self._transition("heartbeat", job_id, owner, num(self.clock() + lease_s), changes(sets))

    async def complete(
        self,
        job_id: str,
        owner: str,
        result: dict[str, Any],
        *,
        warnings: builtins.list[dict[str, Any]] | None = None,
        content_hash: str | None = None,
    ) -> Job | None:
        sets: dict[str, Any] = {"result": result, "progress": 100}
        if warnings is not None:
            sets["warnings"] = warnings
        if content_hash is not None:
            sets["content_hash"] = content_hash
        sets.update(error_code=None, error_message=None, error_detail=None)
        return await self._transition("complete", job_id, owner, changes(sets))

    async def fail(
        self,
        job_id: str,
        owner: str | None,
        code: str,
        message: str,
        detail: dict[str, Any] | None = None,
        *,
        retry: bool = False,
        retry_delay_s: float = 0.0,
    ) -> Job | None:
        sets = {"error_code": code, "error_message": message, "error_detail": detail}
        return await self._transition(
            "fail",
            job_id,
            owner or "",
            changes(sets),
            "1" if retry else "0",
            num(self.clock() + retry_delay_s),
        )

    async def finish_cancelled(self, job_id: str, owner: str) -> Job | None:
        return await self._transition("finish_cancelled", job_id, owner)

    async def cancel(self, job_id: str, *, key_id: str | None = None) -> Job | None:
        return await self._transition("cancel", job_id, _ANY_OWNER if key_id is None else key_id)

    async def release(self, job_id: str, owner: str) -> Job | None:
        return await self._transition("release", job_id, owner)

    async def requeue_expired(self, now: float | None = None) -> builtins.list[Job]:
        now = self.clock() if now is None else now
        cutoff = "+inf" if math.isinf(now) and now > 0 else f"({num(now)}"
        changed: builtins.list[Job] = []
        while True:
            reply = await self._run("requeue_expired", cutoff, str(_BATCH))
            for doc in reply[1:]:
                job = job_from_json(doc)
                self.hub.publish(job)
                changed.append(job)
            if int(reply[0]) < _BATCH:
                return changed

    async def set_check_result(self, job_id: str, *, content_hash: str | None) -> Job | None:
        return await self._transition("set_check", job_id, content_hash or "")

    # -- webhooks and retention ---------------------------------------------------------------
    async def pending_webhooks(self) -> builtins.list[Job]:
        ids = await self._r.zrange(self.keys.webhooks, 0, -1)
        return [j for j in await self._get_many(ids) if j is not None and j.webhook_state == "pending"]

    async def set_webhook_state(self, job_id: str, state: str, attempts: int) -> None:
        await self._run("set_webhook", job_id, state, str(attempts))

    async def take_webhook(self, job_id: str, holder: str, ttl_s: float) -> bool:
        key = self.keys.webhook_holder(job_id)
        ms = max(1, int(ttl_s * 1000))
        if await self._r.set(key, holder, nx=True, px=ms):
            return True
        if await self._r.get(key) == holder.encode():
            await self._r.pexpire(key, ms)
            return True
        return False

    async def purge(self, finished_before: float) -> builtins.list[Job]:
        gone: builtins.list[Job] = []
        while True:
            n, flats = await self._run("purge", f"({num(finished_before)}", str(_BATCH))
            gone.extend(j for j in (job_from_flat(f) for f in flats) if j is not None)
            if int(n) < _BATCH:
                return gone

    # -- nodes ----------------------------------------------------------------------------------
    async def register_worker(self, node: dict[str, Any], ttl_s: float) -> None:
        now = self.clock()
        node = {**node, "seen_at": now}
        node_id = str(node["id"])
        async with self._r.pipeline(transaction=True) as pipe:
            if ttl_s <= 0:
                pipe.zrem(self.keys.workers, node_id)
                pipe.hdel(self.keys.worker_nodes, node_id)
            else:
                pipe.hset(self.keys.worker_nodes, node_id, msgspec.json.encode(node))
                pipe.zadd(self.keys.workers, {node_id: now + ttl_s})
            await pipe.execute()

    async def list_workers(self) -> builtins.list[dict[str, Any]]:
        now = num(self.clock())
        gone = await self._r.zrangebyscore(self.keys.workers, "-inf", now)
        if gone:
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(self.keys.workers, "-inf", now)
                pipe.hdel(self.keys.worker_nodes, *gone)
                await pipe.execute()
        ids: builtins.list[Any] = sorted(await self._r.zrange(self.keys.workers, 0, -1))
        if not ids:
            return []
        docs = await self._r.hmget(self.keys.worker_nodes, ids)
        return [msgspec.json.decode(d) for d in docs if d is not None]

    # -- notifications ------------------------------------------------------------------------
    def watch(self, job_id: str) -> AsyncIterator[Job]:
        return self.hub.watch(job_id, lambda: self.get(job_id))

    def add_listener(self, listener: Listener) -> None:
        self.hub.add_listener(listener)


__all__ = ["RedisJobStore"]
