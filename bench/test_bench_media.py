"""Throughput of the media layer at 1920×1080 30 fps (not part of the default test run).

    /work/venv/bin/pytest bench/test_bench_media.py --benchmark-only

Content: textured pictures (moving spatial noise plus fresh temporal noise, ≈ 9 Mb/s at
crf 23), so x264 and the decoder do real work (flat test patterns run several times
faster).  The encode timing includes new_frame + copying the planes + 48 kHz silence.  Each
benchmark reports ``fps`` in ``extra_info`` (shown with ``--benchmark-verbose`` or in the
JSON output).
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest

from compositor.media.encoder import Encoder
from compositor.media.probe import probe_media
from compositor.media.video_reader import VideoReader

W, H, FPS = 1920, 1080, Fraction(30)
N_FRAMES = 90


def _texture(n: int = 8):
    """n pictures: spatial noise (σ 20) moving 4 px/frame + fresh temporal noise (σ 6).

    At crf 23 veryfast this is ≈ 9 Mb/s, in the range of phone/camera footage.
    """
    rng = np.random.default_rng(1)
    base = (128 + rng.normal(0, 20, (H, W + 4 * n))).clip(16, 235)
    ys = [
        np.ascontiguousarray((base[:, 4 * i : 4 * i + W] + rng.normal(0, 6, (H, W))).clip(16, 235).astype(np.uint8))
        for i in range(n)
    ]
    yy, xx = np.mgrid[0 : H // 2, 0 : W // 2]
    u = (128 + 60 * np.sin(xx / 45.0)).astype(np.uint8)
    v = (128 + 60 * np.cos(yy / 35.0)).astype(np.uint8)
    return ys, u, v


def _encode(path, tex, n, **kw) -> float:
    ys, u, v = tex
    t0 = time.perf_counter()
    enc = Encoder(path, width=W, height=H, fps=FPS, crf=23, preset="veryfast", **kw)
    try:
        silence = np.zeros((2, 1600), np.float32)
        for i in range(n):
            frame, p = enc.new_frame()
            p.y[...] = ys[i % len(ys)]
            p.u[...] = u
            p.v[...] = v
            enc.submit_video(frame, i)
            enc.submit_audio(silence)
        enc.close()
    except BaseException:
        enc.abort()
        raise
    return time.perf_counter() - t0


@pytest.fixture(scope="module")
def texture():
    return _texture()


@pytest.fixture(scope="module")
def clip_1080p(tmp_path_factory, texture):
    path = tmp_path_factory.mktemp("bench") / "texture_1080p30.mp4"
    _encode(path, texture, N_FRAMES)
    return path


def test_encode_1080p_veryfast_crf23(benchmark, tmp_path, texture):
    out = tmp_path / "enc.mp4"
    secs = benchmark.pedantic(_encode, args=(out, texture, N_FRAMES), rounds=2, iterations=1)
    benchmark.extra_info["fps"] = round(N_FRAMES / benchmark.stats["mean"], 1)
    benchmark.extra_info["last_run_s"] = round(secs, 3)


@pytest.mark.parametrize("threads", [0, 1])
def test_decode_1080p_video_reader(benchmark, clip_1080p, threads):
    info = probe_media(clip_1080p)

    def run():
        with VideoReader(clip_1080p, info, start_us=0, threads=threads) as r:
            acc = 0
            for i in range(N_FRAMES):
                acc += int(r.frame_at(i * 1_000_000 // 30).y[540, 960])
            return acc

    benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info["fps"] = round(N_FRAMES / benchmark.stats["mean"], 1)


@pytest.fixture(scope="module")
def photo_12mp(tmp_path_factory):
    """A 3024×4032 phone-like JPEG (4:2:0, quality 90) of smooth colour plus noise."""
    from PIL import Image

    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:4032, 0:3024]
    rgb = np.stack([xx * 255 // 3024, yy * 255 // 4032, (xx + yy) * 255 // 7056], axis=-1)
    rgb = (rgb + rng.normal(0, 8, rgb.shape)).clip(0, 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("photo") / "photo_12mp.jpg"
    Image.fromarray(rgb).save(path, quality=90, subsampling=2)
    return path


def test_still_planes_12mp_photo(benchmark, photo_12mp):
    """A 12 MP JPEG decoded straight into Y, U, V in bands (compositor.still_planes)."""
    from compositor.still_planes import load_still_planes

    benchmark(load_still_planes, photo_12mp)


def test_still_planes_12mp_photo_through_rgba(benchmark, photo_12mp):
    """The same photo through RGBA and the alpha planes (the path of images with alpha)."""
    from compositor.media.still import load_still
    from compositor.still_planes import still_planes

    benchmark(lambda: still_planes(load_still(photo_12mp)))
