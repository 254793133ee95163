"""Outputs and shared artefacts in an S3-compatible bucket (I/O: boto3).

``--storage s3://bucket/prefix`` (AWS S3, MinIO, R2, OSS, COS …; ``--s3-endpoint-url`` for
anything but AWS). Credentials come from boto3's standard chain (environment, shared files,
instance/task roles); the bucket is the operator's and is never created here — a missing
bucket or refused credentials is a start-up refusal (:meth:`S3Storage.startup_refusal`).

Object keys under ``prefix``::

    outputs/<job_id>.mp4, outputs/<job_id>.jpg   finished renders (uploaded by the worker)
    blobs/<key>                                   put_blob / get_blob (chunks, shared drafts)

Uploads and downloads go through boto3's managed transfer from and to files: multipart above
``--s3-part-size-mb`` (parts of that size), never a whole file in memory. The local folders
of :class:`~server.storage.LocalStorage` stay the staging area (a render is written there,
uploaded, then deleted) and the draft cache. ``video_url`` is a presigned GET (SigV4, valid
``--link-ttl`` seconds, at most 7 days) or ``--s3-public-base-url`` + key.

The endpoint is operator configuration, not user input: the S3 client does not go through the
egress policy, and the policy refuses user URLs naming the configured endpoint
(``server.egress.egress_policy``).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .storage import LocalStorage, OutputKind, StorageFailed, check_key, check_prefix

if TYPE_CHECKING:
    from .settings import Settings

log = logging.getLogger(__name__)

#: SigV4 presigned URLs live at most 7 days
MAX_PRESIGN_S = 7 * 86400
MIB = 1024 * 1024
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
_CONTENT_TYPES = {"video": "video/mp4", "poster": "image/jpeg"}
#: put_blob prefix of shared drafts (server.draft_share)
DRAFTS_PREFIX = "drafts/"


def parse_storage_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` → ``(bucket, "prefix/")`` (prefix "" at the bucket root);
    ValueError says what is wrong."""
    if not url.startswith("s3://"):
        raise ValueError(f"storage must be 'local' or s3://bucket/prefix, not {url!r}")
    bucket, _, prefix = url[5:].partition("/")
    if not _BUCKET_RE.fullmatch(bucket):
        raise ValueError(f"{bucket!r} is not an S3 bucket name (3-63 lower-case letters, digits, '.', '-')")
    prefix = prefix.strip("/")
    return bucket, (check_key(prefix) + "/" if prefix else "")


class S3Storage(LocalStorage):
    """Outputs and blobs in ``bucket`` under ``prefix``; local folders for staging and caches."""

    redirects = True
    shares_drafts = True

    def __init__(
        self,
        data_dir: Path,
        base_url: str,
        *,
        bucket: str,
        prefix: str,
        endpoint_url: str | None = None,
        addressing_style: str = "auto",
        part_size_bytes: int = 16 * MIB,
        url_ttl_s: float = MAX_PRESIGN_S,
        public_base_url: str | None = None,
    ):
        super().__init__(data_dir, base_url)
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint_url = endpoint_url or None
        self.addressing_style = addressing_style
        self.part_size_bytes = int(part_size_bytes)
        self.url_ttl_s = int(min(max(1.0, url_ttl_s), MAX_PRESIGN_S))
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self._client: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        bucket, prefix = parse_storage_url(settings.storage)
        return cls(
            settings.data_path,
            settings.base_url,
            bucket=bucket,
            prefix=prefix,
            endpoint_url=settings.s3_endpoint_url,
            addressing_style=settings.s3_addressing_style,
            part_size_bytes=settings.s3_part_size_mb * MIB,
            url_ttl_s=settings.link_ttl_s,
            public_base_url=settings.s3_public_base_url,
        )

    def worker_spec(self) -> dict[str, Any]:
        return {
            "kind": "s3",
            "data_dir": str(self.root),
            "base_url": self.base_url,
            "bucket": self.bucket,
            "prefix": self.prefix,
            "endpoint_url": self.endpoint_url,
            "addressing_style": self.addressing_style,
            "part_size_bytes": self.part_size_bytes,
            "url_ttl_s": self.url_ttl_s,
            "public_base_url": self.public_base_url,
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> S3Storage:
        return cls(
            Path(spec["data_dir"]),
            spec["base_url"],
            bucket=spec["bucket"],
            prefix=spec["prefix"],
            endpoint_url=spec["endpoint_url"],
            addressing_style=spec["addressing_style"],
            part_size_bytes=spec["part_size_bytes"],
            url_ttl_s=spec["url_ttl_s"],
            public_base_url=spec["public_base_url"],
        )

    # -- the client ------------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The boto3 S3 client, made on first use (clients are thread-safe; one per process)."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(
                signature_version="s3v4",
                s3={"addressing_style": self.addressing_style},
                retries={"mode": "standard", "max_attempts": 5},
                connect_timeout=10,
                read_timeout=60,
            )
            self._client = boto3.session.Session().client("s3", endpoint_url=self.endpoint_url, config=config)
        return self._client

    def _transfer_config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=self.part_size_bytes,
            multipart_chunksize=self.part_size_bytes,
            max_concurrency=4,
            io_chunksize=256 * 1024,
        )

    def startup_refusal(self) -> str | None:
        """One line if the bucket is missing or refuses us (HeadBucket), else None."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        where = f"s3://{self.bucket}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except NoCredentialsError:
            return f"no AWS credentials for {where} (environment, ~/.aws or an instance role)"
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404:
                return f"the bucket {where} does not exist (create it first; the server never creates buckets)"
            if status in (301, 400, 403):
                return f"the bucket {where} refuses these credentials (HTTP {status}); check the AWS credentials and region"
            return f"the bucket {where} answered HTTP {status}"
        except BotoCoreError as exc:
            return f"cannot reach {where}: {exc}"
        return None

    # -- keys ------------------------------------------------------------------------------------
    def output_key(self, job_id: str, kind: OutputKind) -> str:
        return self.prefix + "outputs/" + check_key(self.output_path(job_id, kind).name)

    def blob_key(self, key: str) -> str:
        return self.prefix + "blobs/" + check_key(key)

    # -- outputs ---------------------------------------------------------------------------------
    def put_output(self, job_id: str, local_path: Path, kind: OutputKind) -> None:
        """Upload the file (multipart above the part size, streamed from disk), then delete
        the local copy."""
        key = self.output_key(job_id, kind)
        self._upload(Path(local_path), key, content_type=_CONTENT_TYPES[kind])
        Path(local_path).unlink(missing_ok=True)

    def output_url(self, job_id: str, kind: OutputKind) -> str:
        key = self.output_key(job_id, kind)
        if self.public_base_url:
            return f"{self.public_base_url}/{quote(key)}"
        return str(
            self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.url_ttl_s
            )
        )

    def video_url(self, job_id: str) -> str:
        return self.output_url(job_id, "video")

    def poster_url(self, job_id: str) -> str:
        return self.output_url(job_id, "poster")

    def has_video(self, job_id: str) -> bool:
        # A completed job's video was uploaded before the job completed, and the retention
        # purge deletes the record and the objects together: no request needed. (A bucket
        # lifecycle rule shorter than --retention breaks this; see docs/scale-out.md.)
        return True

    def delete_job_files(self, job_id: str) -> None:
        super().delete_job_files(job_id)  # staging files and the work folder
        keys = [self.output_key(job_id, k) for k in ("video", "poster")]
        self._delete_keys(keys)

    # -- blobs -----------------------------------------------------------------------------------
    def put_blob(self, key: str, local_path: Path) -> None:
        self._upload(Path(local_path), self.blob_key(key), content_type="application/octet-stream")

    def get_blob(self, key: str, dest: Path) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        full = self.blob_key(key)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        os.close(fd)
        try:
            self.client.download_file(self.bucket, full, tmp, Config=self._transfer_config())
            os.replace(tmp, dest)
            return True
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return False
            raise StorageFailed(f"download failed ({_code(exc)})", full) from exc
        except BotoCoreError as exc:
            raise StorageFailed(f"download failed ({type(exc).__name__})", full) from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def delete_blobs(self, prefix: str) -> None:
        self._delete_keys(k for k, _ in self._list(self.prefix + "blobs/" + check_prefix(prefix)))

    def sweep(self, older_than_s: float, *, stale_part_s: float) -> int:
        """The local sweep, and shared drafts not uploaded again for ``older_than_s``."""
        removed = super().sweep(older_than_s, stale_part_s=stale_part_s)
        cutoff = time.time() - older_than_s
        old = [k for k, modified in self._list(self.prefix + "blobs/" + DRAFTS_PREFIX) if modified < cutoff]
        self._delete_keys(old)
        return removed + len(old)

    # -- plumbing --------------------------------------------------------------------------------
    def _upload(self, path: Path, key: str, *, content_type: str) -> None:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_file(
                str(path), self.bucket, key, ExtraArgs={"ContentType": content_type}, Config=self._transfer_config()
            )
        except (S3UploadFailedError, ClientError, BotoCoreError) as exc:
            raise StorageFailed(f"upload failed ({type(exc).__name__})", key) from exc

    def _list(self, prefix: str):
        """``(key, last_modified_epoch_s)`` of every object under ``prefix``."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", ()):
                    yield obj["Key"], obj["LastModified"].timestamp()
        except (ClientError, BotoCoreError) as exc:
            raise StorageFailed(f"listing failed ({type(exc).__name__})", prefix) from exc

    def _delete_keys(self, keys) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        batch: list[str] = []

        def flush() -> None:
            if not batch:
                return
            try:
                answer = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
                )
            except (ClientError, BotoCoreError) as exc:
                raise StorageFailed(f"delete failed ({type(exc).__name__})", batch[0]) from exc
            errors = answer.get("Errors") or []
            if errors:
                raise StorageFailed(f"delete failed ({errors[0].get('Code')})", errors[0].get("Key", batch[0]))
            batch.clear()

        for k in keys:
            batch.append(k)
            if len(batch) == 1000:  # DeleteObjects takes at most 1000 keys
                flush()
        flush()


def _code(exc: Any) -> str:
    return str(
        exc.response.get("Error", {}).get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    )


__all__ = ["S3Storage", "parse_storage_url", "MAX_PRESIGN_S", "DRAFTS_PREFIX"]
