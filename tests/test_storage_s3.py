"""Object storage: the storage interface on the local disk and on S3 (moto in server mode on
127.0.0.1, started by the tests), the start-up refusal, a render end to end with its MP4 in
the bucket and a presigned video_url, multipart uploads, purge, and drafts shared between
workers through the store."""

from __future__ import annotations

import asyncio
import io
import ipaddress
import os
import time
import urllib.request
from pathlib import Path

import av
import pytest
from aiohttp.test_utils import TestClient, TestServer

from compositor.errors import UrlForbidden
from compositor.fetch import fetch_draft
from server.app import create_app
from server.draft_share import blob_key, share_draft
from server.egress import egress_policy, egress_spec, from_egress_spec
from server.errors import ERRORS, JOB_ERROR_CODES
from server.settings import Settings
from server.state import STORAGE, STORE
from server.storage import LocalStorage, StorageFailed, storage_refusal
from server.storage_s3 import MIB, S3Storage, parse_storage_url
from tests.s3_fixtures import s3_endpoint  # noqa: F401 - fixture
from tests.server_fixtures import TEST_DEFAULTS, clip_path, draft_host, new_draft_id  # noqa: F401 - fixtures
from tests.server_helpers import free_port, tiny_draft


def s3_storage(root: Path, endpoint, bucket: str, **kw) -> S3Storage:
    return S3Storage(
        root,
        "http://127.0.0.1:9",
        bucket=bucket,
        prefix="farm/a/",
        endpoint_url=endpoint.url,
        addressing_style="path",
        **kw,
    )


def fetch_loopback(url: str) -> bytes:
    assert url.startswith("http://127.0.0.1:"), url  # tests only talk to loopback
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read()


# -- settings and start-up -------------------------------------------------------------------------


def test_storage_url_forms():
    assert parse_storage_url("s3://my-bucket") == ("my-bucket", "")
    assert parse_storage_url("s3://my-bucket/renders/v1/") == ("my-bucket", "renders/v1/")
    for bad in ("s3://", "s3://B", "s3://ok-bucket/a/../b", "gs://bucket/x", "s3://ok-bucket/a//b"):
        with pytest.raises(ValueError):
            parse_storage_url(bad)
    with pytest.raises(SystemExit, match="invalid setting storage"):
        Settings.from_sources(["--storage", "s3://x"], environ={})
    s = Settings.from_sources(
        [], environ={"DRAFT_SERVER_STORAGE": "s3://my-bucket/p", "DRAFT_SERVER_S3_PART_SIZE_MB": "8"}
    )
    assert s.storage == "s3://my-bucket/p" and s.s3_part_size_mb == 8


def test_startup_refuses_a_missing_bucket(s3_endpoint, tmp_path, capsys):
    from server.__main__ import main

    argv = ["--data-dir", str(tmp_path), "--storage", "s3://no-such-bucket/x", "--s3-endpoint-url", s3_endpoint.url]
    with pytest.raises(SystemExit) as exc:
        main(argv + ["--s3-addressing-style", "path"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "s3://no-such-bucket" in err[0] and "does not exist" in err[0], err
    bucket = s3_endpoint.new_bucket()
    ok = Settings(data_dir=str(tmp_path), storage=f"s3://{bucket}/x", s3_endpoint_url=s3_endpoint.url)
    assert storage_refusal(ok) is None
    assert s3_endpoint.keys(bucket) == []  # the check writes nothing


def test_startup_refuses_without_credentials(s3_endpoint, tmp_path, monkeypatch):
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k)
    settings = Settings(data_dir=str(tmp_path), storage="s3://some-bucket", s3_endpoint_url=s3_endpoint.url)
    refusal = storage_refusal(settings)
    assert refusal is not None and "no AWS credentials" in refusal and "\n" not in refusal


def test_user_urls_cannot_reach_the_storage_endpoint():
    """The endpoint is operator configuration: exempt from the egress policy itself (boto3
    connects), refused to every user URL however the policy is loosened."""
    settings = Settings(
        storage="s3://farm-bucket",
        s3_endpoint_url="http://127.0.0.1:9000",
        url_allowlist=("127.0.0.1",),
        allow_private_networks=True,
    )
    for policy in (egress_policy(settings), from_egress_spec(egress_spec(settings))[0]):
        for url in ("http://127.0.0.1:9000/farm-bucket/x", "http://0x7f.1:9000/x", "http://2130706433:9000/"):
            with pytest.raises(UrlForbidden, match="own storage endpoint"):
                policy.target(url)
        with pytest.raises(UrlForbidden):  # a name that resolves to it
            policy.check_name("store.test", 9000, [ipaddress.ip_address("127.0.0.1")])
        policy.target("http://127.0.0.1:9001/x")  # another port: the allowlist decides
    named = egress_policy(settings.replace(s3_endpoint_url="https://minio.internal.test"))
    with pytest.raises(UrlForbidden):
        named.target("https://MINIO.internal.test:443/bucket/key")
    assert egress_policy(settings.replace(storage="local")).denylist == ()


# -- the interface on both storages ----------------------------------------------------------------


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "data", "http://127.0.0.1:9")
    endpoint = request.getfixturevalue("s3_endpoint")
    return s3_storage(tmp_path / "data", endpoint, endpoint.new_bucket())


def test_blob_round_trips(storage, tmp_path):
    src = tmp_path / "chunk.bin"
    src.write_bytes(b"frames" * 1000)
    storage.put_blob("chunks/job1/0001.mp4", src)
    storage.put_blob("chunks/job1/0002.mp4", src)
    storage.put_blob("chunks/job2/0001.mp4", src)
    dest = tmp_path / "out" / "got.mp4"
    assert storage.get_blob("chunks/job1/0002.mp4", dest) is True
    assert dest.read_bytes() == src.read_bytes()
    assert storage.get_blob("chunks/job1/0003.mp4", tmp_path / "none.mp4") is False
    assert not (tmp_path / "none.mp4").exists()
    storage.delete_blobs("chunks/job1/")
    assert storage.get_blob("chunks/job1/0001.mp4", dest) is False
    assert storage.get_blob("chunks/job2/0001.mp4", dest) is True  # another prefix stays
    for bad in ("", "/abs", "a/../b", "a//b", "./a", "a\\b", "a\x00b"):
        with pytest.raises(ValueError):
            storage.put_blob(bad, src)
        with pytest.raises(ValueError):
            storage.get_blob(bad, dest)
    with pytest.raises(ValueError):
        storage.delete_blobs("../")


def test_local_put_output_renames_into_outputs(tmp_path):
    storage = LocalStorage(tmp_path, "http://127.0.0.1:9")
    storage.ensure_dirs()
    src = tmp_path / "render.mp4"
    src.write_bytes(b"mp4")
    storage.put_output("job1", src, "video")
    assert storage.video_path("job1").read_bytes() == b"mp4" and not src.exists()
    storage.put_output("job1", storage.video_path("job1"), "video")  # already in place: kept
    assert storage.video_path("job1").is_file()
    assert storage.output_url("job1", "video") == "http://127.0.0.1:9/v1/renders/job1/video.mp4"


def test_multipart_upload_above_the_part_size(s3_endpoint, tmp_path):
    bucket = s3_endpoint.new_bucket()
    storage = s3_storage(tmp_path / "data", s3_endpoint, bucket, part_size_bytes=5 * MIB)
    storage.ensure_dirs()
    video = storage.video_path("job1")
    payload = os.urandom(11 * MIB)  # three parts: 5 + 5 + 1 MiB
    video.write_bytes(payload)
    storage.put_output("job1", video, "video")
    assert not video.exists()  # the staging copy is gone once uploaded
    head = s3_endpoint.client().head_object(Bucket=bucket, Key="farm/a/outputs/job1.mp4")
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]  # a multipart upload of 3 parts
    assert head["ContentType"] == "video/mp4"
    url = storage.output_url("job1", "video")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=604800" in url
    assert fetch_loopback(url) == payload
    # downloads are ranged the same way, into a file
    src = tmp_path / "src.bin"
    src.write_bytes(payload)
    storage.put_blob("big/one.bin", src)
    assert storage.get_blob("big/one.bin", tmp_path / "back.bin") and (tmp_path / "back.bin").read_bytes() == payload


def test_a_failed_upload_is_storage_failed(s3_endpoint, tmp_path):
    storage = s3_storage(tmp_path, s3_endpoint, "bucket-that-went-away")
    storage.ensure_dirs()
    video = storage.video_path("job1")
    video.write_bytes(b"mp4")
    with pytest.raises(StorageFailed) as exc:
        storage.put_output("job1", video, "video")
    assert exc.value.code == "STORAGE_FAILED" and exc.value.detail() == {"key": "farm/a/outputs/job1.mp4"}
    assert video.exists()  # kept for the purge; nothing half-done in the bucket counts as the output
    assert ERRORS["STORAGE_FAILED"].http == 503 and "STORAGE_FAILED" in JOB_ERROR_CODES


def test_public_base_url_links(s3_endpoint, tmp_path):
    storage = s3_storage(tmp_path, s3_endpoint, "any-bucket", public_base_url="https://cdn.example/media/")
    assert storage.output_url("job1", "poster") == "https://cdn.example/media/farm/a/outputs/job1.jpg"


def test_presign_ttl_is_capped_at_seven_days(s3_endpoint, tmp_path):
    bucket = s3_endpoint.new_bucket()
    settings = Settings(
        data_dir=str(tmp_path), storage=f"s3://{bucket}", s3_endpoint_url=s3_endpoint.url, link_ttl_s=30 * 86400.0
    )
    assert S3Storage.from_settings(settings).url_ttl_s == 7 * 86400
    short = S3Storage.from_settings(settings.replace(link_ttl_s=600.0))
    assert "X-Amz-Expires=600" in short.output_url("j", "video")


# -- a render end to end ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_render_end_to_end_on_s3(s3_endpoint, draft_host, clip_path, tmp_path):
    bucket = s3_endpoint.new_bucket()
    port = free_port()
    settings = Settings(
        **{
            **TEST_DEFAULTS,
            "port": port,
            "concurrency": 1,
            "lease_s": 30.0,  # a slow worker start on a loaded machine must not look like a crash
            "data_dir": str(tmp_path / "data"),
            "storage": f"s3://{bucket}/renders/v1",
            "s3_endpoint_url": s3_endpoint.url,
            "s3_addressing_style": "path",
        }
    )
    did = new_draft_id()
    url = draft_host.add_content(did, tiny_draft(did), {"assets/videos/clip.mp4": clip_path})
    client = TestClient(TestServer(create_app(settings), host="127.0.0.1", port=port))
    await client.start_server()
    try:
        resp = await client.post("/v1/renders", json={"draft_url": url})
        assert resp.status == 202, await resp.text()
        job_id = (await resp.json())["id"]
        deadline = time.monotonic() + 120
        while True:
            job = await (await client.get(f"/v1/renders/{job_id}")).json()
            if job["state"] in ("completed", "failed", "cancelled") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert job["state"] == "completed", job
        keys = s3_endpoint.keys(bucket)
        cache_key = client.app[STORAGE].cache_dir_for(url).name
        assert keys == [
            f"renders/v1/blobs/drafts/{cache_key}/{did}.tar",  # the draft, shared with the farm
            f"renders/v1/outputs/{job_id}.jpg",
            f"renders/v1/outputs/{job_id}.mp4",
        ]
        storage = client.app[STORAGE]
        assert not storage.video_path(job_id).exists() and not storage.poster_path(job_id).exists()
        video_url = job["video_url"]
        assert video_url.startswith(f"{s3_endpoint.url}/{bucket}/renders/v1/outputs/{job_id}.mp4?")
        assert "X-Amz-Signature=" in video_url
        mp4 = fetch_loopback(video_url)
        assert len(mp4) == job["result"]["size_bytes"]
        with av.open(io.BytesIO(mp4)) as container:
            assert sum(1 for _ in container.decode(video=0)) == job["result"]["frames"] == 30
        assert fetch_loopback(job["poster_url"])[:2] == b"\xff\xd8"  # a JPEG
        # the API's file routes send the owner on to the object
        for route, name in (("video.mp4", f"{job_id}.mp4"), ("poster.jpg", f"{job_id}.jpg")):
            r = await client.get(f"/v1/renders/{job_id}/{route}", allow_redirects=False)
            assert r.status == 302 and f"/renders/v1/outputs/{name}?" in r.headers["Location"]
        assert (await client.get("/v1/renders/nope/video.mp4", allow_redirects=False)).status == 404
        # no user URL may reach the store, although 127.0.0.1 is on this server's allowlist
        evil = f"{s3_endpoint.url}/openapi/capcut-mate/v1/get_draft?draft_id={did}"
        r = await client.post("/v1/renders", json={"draft_url": evil})
        assert r.status == 400 and (await r.json())["error"]["code"] == "URL_FORBIDDEN"
        r = await client.post("/v1/renders", json={"draft_url": url, "callback_url": f"{s3_endpoint.url}/{bucket}"})
        assert r.status == 400 and (await r.json())["error"]["code"] == "URL_FORBIDDEN"
        # retention: the purge deletes the objects (what the purger calls for each purged job)
        await asyncio.get_running_loop().run_in_executor(None, storage.delete_job_files, job_id)
        assert s3_endpoint.keys(bucket, "renders/v1/outputs/") == []
    finally:
        await client.close()


@pytest.mark.asyncio
async def test_chunked_render_end_to_end_on_s3(s3_endpoint, draft_host, clip_path, tmp_path):
    """The chunks of a chunked render travel through the bucket (put_blob / get_blob), so a
    chunk rendered on any machine reaches the joining worker; nothing stays behind."""
    bucket = s3_endpoint.new_bucket()
    port = free_port()
    settings = Settings(
        **{
            **TEST_DEFAULTS,
            "port": port,
            "concurrency": 1,
            "chunk_seconds": 0.5,  # the 1 s clip: 2 chunks of 15 frames
            "lease_s": 30.0,
            "data_dir": str(tmp_path / "data"),
            "storage": f"s3://{bucket}/renders/v1",
            "s3_endpoint_url": s3_endpoint.url,
            "s3_addressing_style": "path",
        }
    )
    did = new_draft_id()
    url = draft_host.add_content(did, tiny_draft(did), {"assets/videos/clip.mp4": clip_path})
    client = TestClient(TestServer(create_app(settings), host="127.0.0.1", port=port))
    await client.start_server()
    try:
        resp = await client.post("/v1/renders", json={"draft_url": url})
        assert resp.status == 202, await resp.text()
        job_id = (await resp.json())["id"]
        chunk_keys: set[str] = set()
        deadline = time.monotonic() + 180
        while True:
            job = await (await client.get(f"/v1/renders/{job_id}")).json()
            if job["state"] in ("completed", "failed", "cancelled") or time.monotonic() > deadline:
                break
            keys = await asyncio.to_thread(s3_endpoint.keys, bucket, f"renders/v1/blobs/chunks/{job_id}/")
            chunk_keys.update(keys)
            await asyncio.sleep(0.05)
        assert job["state"] == "completed", job
        assert job["result"]["frames"] == 30
        assert (await client.app[STORE].get(job_id)).result["chunks"] == 2
        # both chunks were in the bucket (the last one at least until the join fetched it) …
        assert f"renders/v1/blobs/chunks/{job_id}/00001.mp4" in chunk_keys
        # … and are gone: the blobs are deleted after the join, none were kept on the local disk
        assert s3_endpoint.keys(bucket, "renders/v1/blobs/chunks/") == []
        assert not (tmp_path / "data" / "blobs" / "chunks").exists()
        mp4 = fetch_loopback(job["video_url"])
        with av.open(io.BytesIO(mp4)) as container:
            assert container.streams.audio
            assert sum(1 for _ in container.decode(video=0)) == 30
    finally:
        await client.close()


# -- drafts shared between workers -----------------------------------------------------------------


class CountingStorage(S3Storage):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.puts: list[str] = []

    def put_blob(self, key, local_path):
        self.puts.append(key)
        super().put_blob(key, local_path)


def test_draft_shared_through_the_store(s3_endpoint, draft_host, tmp_path):
    """Worker B's cache miss restores worker A's download from the store instead of the origin;
    the local cache's validity rules still apply (a changed file is fetched again)."""
    bucket = s3_endpoint.new_bucket()
    did = new_draft_id()
    rel = "assets/videos/clip.bin"
    v1, v2 = b"A" * 5000, b"B" * 5000  # same size: the origin cannot tell them apart by size
    url = draft_host.add_content(did, tiny_draft(did), {rel: v1})

    def worker(name: str) -> tuple[CountingStorage, Path]:
        st = CountingStorage(
            tmp_path / name, "http://127.0.0.1:9", bucket=bucket, prefix="", endpoint_url=s3_endpoint.url
        )
        return st, st.cache_dir_for(url)

    def run(st: CountingStorage, cache: Path):
        return share_draft(st, cache, did, lambda: asyncio.run(fetch_draft(url, cache)))

    a, cache_a = worker("a")
    local = run(a, cache_a)
    assert (local.folder / rel).read_bytes() == v1
    assert draft_host.hits[("file", did, rel)] == 1
    assert a.puts == [blob_key(cache_a, did)] and s3_endpoint.keys(bucket) == [f"blobs/{blob_key(cache_a, did)}"]
    run(a, cache_a)  # a local hit, unchanged: not uploaded again
    assert len(a.puts) == 1

    draft_host.drafts[did][rel] = v2  # what the origin would send now, if asked for the body
    b, cache_b = worker("b")
    local_b = run(b, cache_b)
    assert (local_b.folder / rel).read_bytes() == v1  # from the store, not from the origin
    assert b.puts == []  # restored and unchanged: nothing to upload

    draft_host.drafts[did][rel] = v3 = b"C" * 6000  # an edited draft: the origin's size changed
    run(b, cache_b)
    assert (local_b.folder / rel).read_bytes() == v3  # same validity rules as the local cache
    assert len(b.puts) == 1  # and the new folder is shared
    c, cache_c = worker("c")
    draft_host.drafts[did][rel] = b"D" * 6000
    assert (run(c, cache_c).folder / rel).read_bytes() == v3


def test_share_draft_is_a_no_op_on_local_storage(draft_host, tmp_path):
    did = new_draft_id()
    url = draft_host.add_content(did, tiny_draft(did), {"assets/videos/clip.bin": b"x" * 10})
    st = LocalStorage(tmp_path, "http://127.0.0.1:9")
    cache = st.cache_dir_for(url)
    share_draft(st, cache, did, lambda: asyncio.run(fetch_draft(url, cache)))
    assert not (tmp_path / "blobs").exists() and not (cache / f".{did}.shared").exists()
