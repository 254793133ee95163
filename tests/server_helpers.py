"""Test helpers for the service: a capcut-mate-like draft host, a subprocess server, builders.

``DraftHost`` answers ``GET /openapi/capcut-mate/v1/get_draft?draft_id=<id>`` with
``{"code":0,"message":"成功","files":[absolute URLs]}`` (HTTP 200 ``code 2001`` for an unknown
id, like capcut-mate) and serves ``/output/draft/<id>/<rel>`` — the shape of
``shared/conformance/tools/serve_drafts.py`` — from its own thread and event loop, so sync
clients (``requests``), async tests and server subprocesses can all reach it.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from aiohttp import web

REPO = Path(__file__).resolve().parent.parent
GET_DRAFT = "/openapi/capcut-mate/v1/get_draft"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DraftHost:
    """A capcut-mate get_draft endpoint + file server in a background thread."""

    def __init__(self) -> None:
        self.drafts: dict[str, dict[str, bytes | Path]] = {}
        self.hits: Counter = Counter()
        self.status_override: dict[str, int] = {}  # draft_id -> HTTP status of get_draft
        self.code_override: dict[str, int] = {}  # draft_id -> capcut code of get_draft
        self.delay_s: float = 0.0
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- content -----------------------------------------------------------------------------
    def url(self, draft_id: str, **extra: str) -> str:
        q = "".join(f"&{k}={v}" for k, v in extra.items())
        return f"{self.base}{GET_DRAFT}?draft_id={draft_id}{q}"

    def add_folder(self, draft_id: str, folder: Path) -> str:
        files: dict[str, bytes | Path] = {}
        for p in sorted(Path(folder).rglob("*")):
            if p.is_file():
                files[p.relative_to(folder).as_posix()] = p.resolve()
        self.drafts[draft_id] = files
        return self.url(draft_id)

    def add_content(self, draft_id: str, content: dict | bytes, files: dict[str, bytes | Path] | None = None) -> str:
        raw = content if isinstance(content, bytes) else json.dumps(content, ensure_ascii=False).encode()
        self.drafts[draft_id] = {"draft_content.json": raw, **(files or {})}
        return self.url(draft_id)

    def set_content(self, draft_id: str, content: dict) -> None:
        self.drafts[draft_id]["draft_content.json"] = json.dumps(content, ensure_ascii=False).encode()

    # -- HTTP --------------------------------------------------------------------------------
    async def _get_draft(self, request: web.Request) -> web.Response:
        did = request.query.get("draft_id", "")
        self.hits[("get_draft", did)] += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if did in self.status_override:
            return web.json_response({"detail": "nope"}, status=self.status_override[did])
        if did in self.code_override or did not in self.drafts:
            return web.json_response({"code": self.code_override.get(did, 2001), "message": "无效的草稿URL"})
        files = [f"{self.base}/output/draft/{did}/{rel}" for rel in self.drafts[did]]
        return web.json_response({"code": 0, "message": "成功", "files": files})

    async def _file(self, request: web.Request) -> web.StreamResponse:
        did, rel = request.match_info["id"], request.match_info["rel"]
        self.hits[("file", did, rel)] += 1
        f = self.drafts.get(did, {}).get(rel)
        if f is None:
            raise web.HTTPNotFound()
        if isinstance(f, Path):
            return web.FileResponse(f)
        return web.Response(body=f, content_type="application/json" if rel.endswith(".json") else None)

    def start(self) -> "DraftHost":
        ready = threading.Event()

        def run() -> None:
            loop = self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            app = web.Application()
            app.router.add_get(GET_DRAFT, self._get_draft)
            app.router.add_get("/output/draft/{id}/{rel:.+}", self._file)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port, backlog=1024).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="draft-host")
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


# -- drafts ---------------------------------------------------------------------------------------


def tiny_draft(
    draft_id: str,
    *,
    seconds: float = 1.0,
    width: int = 160,
    height: int = 90,
    video: str = "assets/videos/clip.mp4",
    kind: str = "video",
) -> dict:
    """A one-clip draft referencing ``/app/output/draft/<id>/<video>`` like capcut-mate writes."""
    dur = int(seconds * 1_000_000)
    path = f"/app/output/draft/{draft_id}/{video}" if not video.startswith(("/", "http")) else video
    return {
        "id": draft_id,
        "canvas_config": {"width": width, "height": height},
        "fps": 30,
        "duration": dur,
        "materials": {
            "videos": [{"id": "m1", "type": kind, "path": path, "width": width, "height": height, "duration": dur}],
            "audios": [],
        },
        "tracks": [
            {
                "id": "t1",
                "type": "video",
                "segments": [
                    {
                        "id": "s1",
                        "material_id": "m1",
                        "target_timerange": {"start": 0, "duration": dur},
                        "source_timerange": {"start": 0, "duration": dur},
                        "speed": 1.0,
                        "volume": 1.0,
                        "clip": {
                            "alpha": 1.0,
                            "rotation": 0.0,
                            "scale": {"x": 1.0, "y": 1.0},
                            "transform": {"x": 0.0, "y": 0.0},
                            "flip": {"horizontal": False, "vertical": False},
                        },
                    }
                ],
            }
        ],
    }


def empty_draft(draft_id: str) -> dict:
    return {
        "id": draft_id,
        "canvas_config": {"width": 320, "height": 180},
        "fps": 30,
        "duration": 0,
        "materials": {"videos": [], "audios": []},
        "tracks": [],
    }


def clone(obj: dict) -> dict:
    return copy.deepcopy(obj)


def make_clip(path: Path, *, seconds: float = 1.0, width: int = 160, height: int = 90, fps: int = 30) -> Path:
    """A small H.264 test clip with a moving gradient (PyAV, no ffmpeg CLI)."""
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=fps)
        st.width, st.height, st.pix_fmt = width, height, "yuv420p"
        st.options = {"preset": "ultrafast"}
        n = int(seconds * fps)
        xs = np.arange(width, dtype=np.uint16)
        for i in range(n):
            img = np.zeros((height, width, 3), np.uint8)
            img[..., 0] = ((xs + i * 4) % 256).astype(np.uint8)
            img[..., 1] = i * 255 // max(1, n - 1)
            img[..., 2] = 128
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for p in st.encode(frame):
                out.mux(p)
        for p in st.encode(None):
            out.mux(p)
    return path


# -- a server in a subprocess ---------------------------------------------------------------------


class ServerProcess:
    """``python -m server`` in a subprocess (its own process group), for restart/kill tests;
    ``command=["worker"]``: a worker-only node (``python -m server worker``)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        extra: list[str] | None = None,
        env: dict | None = None,
        command: list[str] | None = None,
    ):
        self.command = command or []
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.extra = extra or []
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log = self.data_dir / f"server-{self.port}.log"

    def start(self, timeout: float = 30.0) -> "ServerProcess":
        import urllib.request

        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "PYTHONPATH": str(REPO)}
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server",
                *self.command,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--url-allowlist",
                "127.0.0.1",
                "--url-allowlist-only",
                *self.extra,
            ],
            cwd=REPO,
            env=env,
            stdout=self._logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log.read_text()[-4000:]}")

    def kill(self) -> None:
        """SIGKILL the server's whole process group (server and its workers)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if getattr(self, "_logf", None):
            self._logf.close()

    def worker_pids(self) -> list[int]:
        """PIDs of the server's worker processes (children whose command line is the spawn stub)."""
        out = []
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                stat = (d / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                cmd = (d / "cmdline").read_bytes()
            except OSError:
                continue
            if ppid == self.proc.pid and b"multiprocessing" in cmd:
                out.append(int(d.name))
        return out
