"""The encoder-only floor (I/O): x264 alone on the frames a render produced, same settings.

    python bench/encode_floor.py FRAMES.yuv WIDTH HEIGHT OUT.mp4 [--preset veryfast] [--crf 23] [--frames N]

``FRAMES.yuv`` is raw yuv420p (made by :func:`dump_raw` from our rendered MP4, before the
measurement). The frames are read from the file (page cache: a memcpy per frame) and encoded
by the renderer's own :class:`compositor.media.encoder.Encoder` — libx264 from the same PyAV,
frame threads, the same preset and crf, no audio — so wall time and CPU are what encoding
those frames costs and nothing else: what compositing is measured against.
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def dump_raw(mp4: Path, raw: Path) -> int:
    """Decode ``mp4``'s video to raw yuv420p at ``raw``; returns the frame count."""
    n = 0
    tmp = raw.with_suffix(".part")
    with av.open(str(mp4)) as c, open(tmp, "wb") as f:
        for frame in c.decode(video=0):
            f.write(frame.to_ndarray(format="yuv420p").tobytes())
            n += 1
    tmp.replace(raw)
    return n


def main(argv: list[str] | None = None) -> int:
    from compositor.media.encoder import Encoder

    ap = argparse.ArgumentParser()
    ap.add_argument("raw", type=Path)
    ap.add_argument("width", type=int)
    ap.add_argument("height", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("--fps", type=Fraction, default=Fraction(30))
    ap.add_argument("--preset", default="veryfast")
    ap.add_argument("--crf", type=int, default=23)
    ap.add_argument("--frames", type=int, default=None, help="stop after this many frames (the bench's warm-up)")
    a = ap.parse_args(argv)
    w, h = a.width, a.height
    size = w * h * 3 // 2
    buf = np.empty(size, np.uint8)
    enc = Encoder(a.out, width=w, height=h, fps=a.fps, crf=a.crf, preset=a.preset, audio=False)
    n = 0
    with open(a.raw, "rb") as f:
        while (a.frames is None or n < a.frames) and f.readinto(memoryview(buf)) == size:
            frame, planes = enc.new_frame()
            planes.y[...] = buf[: w * h].reshape(h, w)
            planes.u[...] = buf[w * h : w * h * 5 // 4].reshape(h // 2, w // 2)
            planes.v[...] = buf[w * h * 5 // 4 :].reshape(h // 2, w // 2)
            enc.submit_video(frame, n, planes)
            n += 1
    enc.close()
    print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
