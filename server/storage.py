"""Output storage on the local disk: immutable files named by job id.

Layout under the data directory::

    outputs/<job_id>.mp4     the render (written to a temp name in the same folder, then renamed)
    outputs/<job_id>.jpg     its poster frame
    cache/<url-key>/<draft_id>/   downloaded drafts (reused by later renders of the same draft)
    work/<job_id>/           inline drafts and their downloaded materials (deleted after the job)
    blobs/<key>              intermediate artefacts shared by the farm (chunks of a chunked render)

Files are served by ``web.FileResponse`` (Range, If-Modified-Since, sendfile). Nothing here
runs at import; :func:`write_poster` runs in worker processes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from aiohttp import web

from compositor.paths import safe_join

POSTER_MAX_WIDTH = 640


class LocalStorage:
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

    # -- serving ---------------------------------------------------------------------------------
    def response(self, path: Path, content_type: str, *, download_name: str | None = None) -> web.FileResponse:
        # private: a shared cache (a reverse proxy) must not hand a keyed answer to others
        headers = {"Content-Type": content_type, "Cache-Control": "private, max-age=86400, immutable"}
        if download_name:
            headers["Content-Disposition"] = f'inline; filename="{download_name}"'
        return web.FileResponse(path, headers=headers)

    # -- blobs: intermediate artefacts (keys "/"-separated, validated by safe_join) ------------
    def blob_path(self, key: str) -> Path:
        return safe_join(self.blobs, key)

    def put_blob(self, key: str, local_path: Path) -> None:
        """Store a copy of ``local_path`` under ``key`` (atomically: temp name, then rename)."""
        dest = self.blob_path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        os.close(fd)
        try:
            shutil.copyfile(local_path, tmp)
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def get_blob(self, key: str, dest: Path) -> bool:
        """Copy the blob ``key`` to ``dest``; False when there is no such blob."""
        src = self.blob_path(key)
        if not src.is_file():
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        return True

    def delete_blobs(self, prefix: str) -> None:
        """Delete every blob under the folder ``prefix``."""
        shutil.rmtree(self.blob_path(prefix.rstrip("/")), ignore_errors=True)

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


__all__ = ["LocalStorage", "write_poster"]
