"""Where outputs and shared artefacts live (I/O): the storage interface and the local disk.

Every storage offers (docs/scale-out.md "Object storage")::

    put_output(job_id, local_path, kind)   # kind "video" | "poster"; S3: streaming multipart upload
    output_url(job_id, kind)               # the link handed out as video_url / poster_url
    put_blob(key, local_path) / get_blob(key, dest) -> bool / delete_blobs(prefix)

Blob keys are "/"-separated, relative, without ``..`` (:func:`check_key`).
:class:`LocalStorage` (the default) keeps everything under the data directory::

    outputs/<job_id>.mp4     the render (written to a temp name in the same folder, then renamed)
    outputs/<job_id>.jpg     its poster frame
    cache/<url-key>/<draft_id>/   downloaded drafts (reused by later renders of the same draft)
    work/<job_id>/           inline drafts and their downloaded materials (deleted after the job)
    blobs/<key>              put_blob / get_blob (e.g. chunk files of a chunked render)

Files are served by ``web.FileResponse`` (Range, If-Modified-Since, sendfile).
``server.storage_s3.S3Storage`` keeps the same local folders as a staging area and puts the
outputs and blobs in a bucket. :func:`make_storage` picks one from the settings,
:func:`storage_from_spec` rebuilds it in a worker process. Nothing here runs at import;
:func:`write_poster` runs in worker processes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal
from urllib.parse import urlsplit

from aiohttp import web

from compositor.errors import CompositorError
from compositor.paths import safe_join

if TYPE_CHECKING:
    from .settings import Settings

POSTER_MAX_WIDTH = 640

OutputKind = Literal["video", "poster"]
_SUFFIX: dict[str, str] = {"video": ".mp4", "poster": ".jpg"}


class StorageFailed(CompositorError):
    """The object store refused or failed an operation (after the SDK's own retries)."""

    code = "STORAGE_FAILED"

    def __init__(self, message: str, key: str):
        super().__init__(f"{message}: {key}")
        self.key = key

    def detail(self) -> dict:
        return {"key": self.key}


def check_key(key: str) -> str:
    """A blob key: "/"-separated, relative, no empty, ``.`` or ``..`` segment, no NUL or backslash."""
    if (
        not isinstance(key, str)
        or not key
        or key.startswith("/")
        or "\\" in key
        or "\x00" in key
        or any(seg in ("", ".", "..") for seg in key.split("/"))
    ):
        raise ValueError(f"invalid storage key {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A key prefix for :meth:`delete_blobs`: a valid key, optionally ending in "/"."""
    return check_key(prefix[:-1] if prefix.endswith("/") else prefix) + ("/" if prefix.endswith("/") else "")


class LocalStorage:
    """Outputs, caches and blobs on the local disk under the data directory."""

    #: the video/poster routes answer with a redirect to :meth:`output_url` (object stores)
    redirects = False
    #: downloaded drafts are shared through :meth:`put_blob` (only useful on a shared store)
    shares_drafts = False

    def __init__(self, data_dir: Path, base_url: str):
        self.root = Path(data_dir)
        self.outputs = self.root / "outputs"
        self.cache = self.root / "cache"
        self.work = self.root / "work"
        self.blobs = self.root / "blobs"
        self.base_url = base_url.rstrip("/")
        #: path → query string of a signed link (``server.auth.LinkSigner.query``); None = unsigned
        self.link_signer: Callable[[str], str] | None = None

    def ensure_dirs(self) -> None:
        for d in (self.outputs, self.cache, self.work):
            d.mkdir(parents=True, exist_ok=True)

    def startup_refusal(self) -> str | None:
        """Why this storage cannot be used (one line), or None."""
        return None

    def worker_spec(self) -> dict[str, Any]:
        """What a worker process needs to rebuild this storage (:func:`storage_from_spec`)."""
        return {"kind": "local", "data_dir": str(self.root), "base_url": self.base_url}

    # -- names -----------------------------------------------------------------------------------
    # every name built from a job id goes through safe_join (no escape from the data dir)
    def video_path(self, job_id: str) -> Path:
        return safe_join(self.outputs, f"{job_id}.mp4")

    def poster_path(self, job_id: str) -> Path:
        return safe_join(self.outputs, f"{job_id}.jpg")

    def work_dir(self, job_id: str) -> Path:
        return safe_join(self.work, job_id)

    def cache_dir_for(self, draft_url: str) -> Path:
        """Downloads of drafts from one get_draft endpoint share a folder; drafts from other
        hosts never collide even if their draft ids do."""
        u = urlsplit(draft_url.strip())
        key = hashlib.sha256(f"{u.scheme}://{u.netloc.lower()}{u.path}".encode()).hexdigest()[:16]
        return self.cache / key

    def video_url(self, job_id: str) -> str:
        return self._link(f"/v1/renders/{job_id}/video.mp4")

    def poster_url(self, job_id: str) -> str:
        return self._link(f"/v1/renders/{job_id}/poster.jpg")

    def _link(self, path: str) -> str:
        """Absolute URL of a served file, signed when a signer is set (the signature covers the
        path the service routes, not the public base URL's own path)."""
        url = f"{self.base_url}{path}"
        return f"{url}?{self.link_signer(path)}" if self.link_signer is not None else url

    def has_video(self, job_id: str) -> bool:
        return self.video_path(job_id).is_file()

    def output_path(self, job_id: str, kind: OutputKind) -> Path:
        return safe_join(self.outputs, f"{job_id}{_SUFFIX[kind]}")

    # -- the storage interface -------------------------------------------------------------------
    def put_output(self, job_id: str, local_path: Path, kind: OutputKind) -> None:
        """Make ``local_path`` the job's video or poster (a rename unless it is already there)."""
        dest = self.output_path(job_id, kind)
        if Path(local_path).absolute() != dest.absolute():
            os.replace(local_path, dest)

    def output_url(self, job_id: str, kind: OutputKind) -> str:
        return self.video_url(job_id) if kind == "video" else self.poster_url(job_id)

    def blob_path(self, key: str) -> Path:
        return safe_join(self.blobs, check_key(key))

    def put_blob(self, key: str, local_path: Path) -> None:
        """Copy ``local_path`` to the blob ``key`` (atomically: temp name, then rename)."""
        _copy_atomically(Path(local_path), self.blob_path(key))

    def get_blob(self, key: str, dest: Path) -> bool:
        """Copy the blob ``key`` to ``dest`` (atomically); False when there is no such blob."""
        src = self.blob_path(key)
        if not src.is_file():
            return False
        _copy_atomically(src, Path(dest))
        return True

    def delete_blobs(self, prefix: str) -> None:
        """Delete every blob whose key starts with ``prefix``."""
        prefix = check_prefix(prefix)
        if not self.blobs.is_dir():
            return
        for p in sorted(self.blobs.rglob("*"), reverse=True):  # files before their folders
            rel = p.relative_to(self.blobs).as_posix()
            if p.is_file() and rel.startswith(prefix):
                p.unlink(missing_ok=True)
            elif p.is_dir() and (rel + "/").startswith(prefix) and not any(p.iterdir()):
                p.rmdir()

    # -- serving ---------------------------------------------------------------------------------
    def response(self, path: Path, content_type: str, *, download_name: str | None = None) -> web.FileResponse:
        # private: a shared cache (a reverse proxy) must not hand a keyed answer to others
        headers = {"Content-Type": content_type, "Cache-Control": "private, max-age=86400, immutable"}
        if download_name:
            headers["Content-Disposition"] = f'inline; filename="{download_name}"'
        return web.FileResponse(path, headers=headers)

    # -- cleanup ---------------------------------------------------------------------------------
    def delete_job_files(self, job_id: str) -> None:
        for p in (self.video_path(job_id), self.poster_path(job_id)):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
        shutil.rmtree(self.work_dir(job_id), ignore_errors=True)

    def sweep(self, older_than_s: float, *, stale_part_s: float) -> int:
        """Remove temp files of crashed renders and cached drafts unused for ``older_than_s``."""
        now = time.time()
        removed = 0
        if self.outputs.is_dir():
            for p in self.outputs.iterdir():
                if p.name.startswith(".") and (p.name.endswith(".part.mp4") or p.name.endswith(".part.jpg")):
                    try:
                        if now - p.stat().st_mtime > stale_part_s:
                            p.unlink()
                            removed += 1
                    except OSError:
                        pass
        if self.cache.is_dir():
            for host_dir in self.cache.iterdir():
                if not host_dir.is_dir():
                    continue
                for d in host_dir.iterdir():
                    try:
                        if d.is_dir() and now - d.stat().st_mtime > older_than_s:
                            shutil.rmtree(d, ignore_errors=True)
                            removed += 1
                    except OSError:
                        pass
        return removed


def write_poster(video: Path, poster: Path, *, at_fraction: float = 0.3) -> bool:
    """Save one frame of ``video`` (about ``at_fraction`` into it) as a JPEG, atomically.

    Runs in worker processes (PyAV + Pillow). Returns False if no frame could be decoded.
    """
    import av  # heavy imports only where used
    from PIL import Image

    frame_img = None
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        target = None
        if stream.duration and stream.time_base:
            target = int(stream.duration * at_fraction)
        elif container.duration:
            target = int(container.duration * at_fraction / 1e6 / float(stream.time_base)) if stream.time_base else None
        if target:
            try:
                container.seek(target, stream=stream, backward=True)
            except av.error.FFmpegError:
                container.seek(0)
        for frame in container.decode(stream):
            frame_img = frame.to_image()
            if target is None or frame.pts is None or frame.pts >= target:
                break
    if frame_img is None:
        return False
    if frame_img.width > POSTER_MAX_WIDTH:
        h = max(1, round(frame_img.height * POSTER_MAX_WIDTH / frame_img.width))
        frame_img = frame_img.resize((POSTER_MAX_WIDTH, h), Image.Resampling.BILINEAR)
    fd, tmp = tempfile.mkstemp(prefix=f".{poster.stem}.", suffix=".part.jpg", dir=poster.parent)
    os.close(fd)
    try:
        frame_img.convert("RGB").save(tmp, "JPEG", quality=85)
        os.replace(tmp, poster)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return True


def _copy_atomically(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` through a temp name in ``dest``'s folder, then rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def make_storage(settings: Settings) -> LocalStorage:
    """The storage the settings name (``--storage``); no network I/O here."""
    if settings.storage == "local":
        return LocalStorage(settings.data_path, settings.base_url)
    from .storage_s3 import S3Storage

    return S3Storage.from_settings(settings)


def storage_from_spec(spec: dict[str, Any] | None) -> LocalStorage | None:
    """Rebuild a storage in a worker process from :meth:`LocalStorage.worker_spec`."""
    if spec is None:
        return None
    if spec["kind"] == "local":
        return LocalStorage(Path(spec["data_dir"]), spec["base_url"])
    from .storage_s3 import S3Storage

    return S3Storage.from_spec(spec)


def storage_refusal(settings: Settings) -> str | None:
    """Why the configured storage cannot be used (one line), or None. S3: the bucket must
    exist and answer to our credentials; it is never created here."""
    if settings.storage == "local":
        return None
    return make_storage(settings).startup_refusal()


__all__ = [
    "LocalStorage",
    "OutputKind",
    "StorageFailed",
    "check_key",
    "make_storage",
    "storage_from_spec",
    "storage_refusal",
    "write_poster",
]
