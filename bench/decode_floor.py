"""The decode-only floor (I/O): decoding the source frames a render shows, and nothing else.

    python bench/decode_floor.py [--threads N] [--warm-up] PATH:FIRST_US:LAST_US ...

Each argument is one video segment's window of source times that the output shows
(:func:`shown_windows`, from the renderer's own visibility pass: the first and the last
source time drawn). The script opens the file with PyAV (FFmpeg's decoder, ``--threads``
threads as the renderer uses on this machine), seeks to the keyframe at or before
``FIRST_US`` and decodes every frame up to the first at or after ``LAST_US``: no pixel-format
conversion, no compositing, no encoder (every frame of the window: the bench's drafts show
each one, so none may be skipped). It prints one JSON line: per window the frames
decoded and the process CPU-seconds spent decoding them (not the script's start), and their
total.

Together with the encoder-only floor (bench/encode_floor.py), this bounds what any renderer
built on the same decoder and x264 settings must spend on a composition: the bench sets
ours and ffmpeg's totals against that sum (``bench/README.md``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import av


def shown_windows(draft: Path) -> list[str]:
    """``PATH:FIRST_US:LAST_US`` for every video segment of ``draft`` that the output shows
    (the renderer's visibility pass over every output frame; stills are not decoders)."""
    from compositor.pipeline import open_draft
    from compositor.visibility import source_visibility

    session = open_draft(draft)
    tl = session.timeline
    paths = {c.segment_id: c.media_key for tr in tl.tracks for c in tr.clips}
    windows = []
    for sid, vis in source_visibility(tl).items():
        if vis.shown_us:
            windows.append(f"{paths[sid]}:{vis.shown_us[0]}:{vis.shown_us[-1]}")
    return sorted(windows)


def decode_window(path: str, first_us: int, last_us: int, threads: int) -> dict:
    """Decode ``path`` from the keyframe at or before ``first_us`` through the first frame at
    or after ``last_us``; the frames decoded and the process CPU-seconds they took (all of
    the decoder's threads, when ``threads`` is not 1)."""
    cpu0 = time.process_time()
    frames = 0
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = threads
        tb = stream.time_base
        container.seek(int(first_us / 1e6 / tb), stream=stream, backward=True)
        for frame in container.decode(stream):
            frames += 1
            if frame.pts is not None and frame.pts * tb * 1_000_000 >= last_us:
                break
    return {
        "path": Path(path).name,
        "first_us": first_us,
        "last_us": last_us,
        "frames": frames,
        "cpu_s": time.process_time() - cpu0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("windows", nargs="+", help="PATH:FIRST_US:LAST_US")
    ap.add_argument("--threads", type=int, default=1, help="decoder threads (the renderer's: 1 on ≤ 4 cores)")
    ap.add_argument("--warm-up", action="store_true", help="decode only each window's first frame")
    a = ap.parse_args(argv)
    rows = []
    for w in a.windows:
        path, first, last = w.rsplit(":", 2)
        first_us = int(first)
        last_us = first_us if a.warm_up else int(last)
        rows.append(decode_window(path, first_us, last_us, a.threads))
    print(json.dumps({"windows": rows, "cpu_s": sum(r["cpu_s"] for r in rows)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
