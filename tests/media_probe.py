"""PyAV re-implementation of the conformance ``probe_render.py`` checks (test helper).

``check_render(mp4, expectations)`` returns one :class:`Result` per check, with the same
names, semantics and tolerances as the conformance kit's ``tools/probe_render.py``
(see its README, "Probe semantics"), but without the ffmpeg CLI:

* frame at time t = the first decoded frame whose pts (from the stream start) is ≥ t,
  converted to RGB24 by swscale using the frame's colour tags;
* ``pixel``: mean of the 5×5 block around (x, y) (edge-clamped), every channel within tol;
  ``uniform``: 8×8 grid of single pixels over the rect; ``contains``: at least
  ``min_pixels`` of the rect within tol; ``gray``: 8×8 grid, max−min ≤ max_chroma;
* audio: first audio stream resampled to 48 kHz (layout kept), channels averaged; a tone's
  peak amplitude from a Hann-windowed single-bin DFT; ``silent`` = window RMS ≤ max_dbfs
  (no audio stream counts as silent);
* resolution must equal the canvas; container duration within ``duration_tol_s``.

The file is opened once and demuxed once: video frames are decoded only up to the last
probed time (and converted to RGB only for probed times), audio is decoded throughout.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

__all__ = ["Result", "check_render", "hard_failures", "decode_for_probe", "tone_amp", "dbfs", "rms", "check_probe"]

RATE = 48000


@dataclass(frozen=True, slots=True)
class Result:
    check: str
    ok: bool
    soft: bool
    detail: str


def hard_failures(results: list[Result]) -> list[Result]:
    return [r for r in results if not r.soft and not r.ok]


# --------------------------------------------------------------------------- decoding


@dataclass(slots=True)
class Decoded:
    width: int = 0
    height: int = 0
    duration_s: float = 0.0
    has_video: bool = False
    frames: dict | None = None  # t (as given) -> (h, w, 3) uint8 RGB, or None if no frame
    audio: np.ndarray | None = None  # mono float64 at 48 kHz (channels averaged)


def decode_for_probe(path: str | os.PathLike, times=()) -> Decoded:
    """One pass over ``path``: RGB frames at ``times`` and the channel-averaged audio."""
    path = os.fspath(path)
    out = Decoded(frames={})
    with av.open(path) as c:
        out.duration_s = (c.duration or 0) / 1_000_000
        vstreams = list(c.streams.video)
        astreams = list(c.streams.audio)
        streams = []
        pending = []
        if vstreams:
            vs = vstreams[0]
            out.has_video = True
            out.width, out.height = vs.codec_context.width, vs.codec_context.height
            start = vs.start_time or 0
            tb = vs.time_base
            pending = sorted(set(times), key=lambda t: Fraction(str(t)))
            for t in pending:
                out.frames[t] = None
            streams.append(vs)
        if astreams:
            ast = astreams[0]
            acc = ast.codec_context
            resampler = av.AudioResampler(format="fltp", layout=acc.layout, rate=RATE)
            chunks = []
            streams.append(ast)
        if not streams:
            return out
        for packet in c.demux(*streams):
            if packet.stream.type == "video":
                if not pending:
                    continue
                for frame in packet.decode():
                    if frame.pts is None:
                        continue
                    ft = (frame.pts - start) * tb
                    rgb = None
                    while pending and ft >= Fraction(str(pending[0])):
                        if rgb is None:
                            rgb = frame.to_ndarray(format="rgb24")
                        out.frames[pending.pop(0)] = rgb
            else:
                for frame in packet.decode():
                    for o in resampler.resample(frame):
                        chunks.append(o.to_ndarray())
        if astreams:
            for o in resampler.resample(None):
                chunks.append(o.to_ndarray())
            if chunks:
                a = np.concatenate(chunks, axis=1).astype(np.float64)
                out.audio = a.mean(axis=0)
            else:
                out.audio = np.zeros(0)
    return out


# --------------------------------------------------------------------------- picture checks


def _grid(rect, w, h, n=8):
    x0, y0, x1, y1 = rect
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(w - 1, x1), min(h - 1, y1)
    k = np.arange(n) + 0.5  # same float operation order as the tool, then int() truncation
    xs = np.clip((x0 + (x1 - x0) * k / n).astype(int), 0, w - 1)
    ys = np.clip((y0 + (y1 - y0) * k / n).astype(int), 0, h - 1)
    return xs, ys


def _max_diff(px: np.ndarray, rgb) -> np.ndarray:
    return np.abs(px.astype(np.int32) - np.asarray(rgb, np.int32)).max(axis=-1)


def check_probe(p: dict, img: np.ndarray) -> tuple[bool, str]:
    """One picture probe against an (h, w, 3) RGB frame; (ok, detail) like probe_render.py."""
    h, w = img.shape[:2]
    k = p["kind"]
    if k == "pixel":
        x, y = int(p["x"]), int(p["y"])
        xs = np.clip(np.arange(x - 2, x + 3), 0, w - 1)
        ys = np.clip(np.arange(y - 2, y + 3), 0, h - 1)
        block = img[np.ix_(ys, xs)].reshape(-1, 3).astype(np.float64)
        got = tuple(int(v) for v in np.round(block.mean(axis=0)))
        d = int(_max_diff(np.asarray(got), p["rgb"]))
        return d <= p["tol"], f"got {got} (max channel diff {d})"
    if k == "uniform":
        xs, ys = _grid(p["rect"], w, h)
        samples = img[np.ix_(ys, xs)]  # (8, 8, 3), row j = y
        d = _max_diff(samples, p["rgb"])
        j, i = np.unravel_index(int(np.argmax(d)), d.shape)
        worst = int(d[j, i])
        got = tuple(int(v) for v in samples[j, i])
        return worst <= p["tol"], f"worst sample {got} at {(int(xs[i]), int(ys[j]))} (diff {worst})"
    if k == "contains":
        x0, y0, x1, y1 = [int(v) for v in p["rect"]]
        region = img[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
        cnt = int((_max_diff(region, p["rgb"]) <= p["tol"]).sum()) if region.size else 0
        return cnt >= p["min_pixels"], f"{cnt} matching pixels (need {p['min_pixels']})"
    if k == "gray":
        xs, ys = _grid(p["rect"], w, h)
        samples = img[np.ix_(ys, xs)].astype(np.int32)
        chroma = samples.max(axis=-1) - samples.min(axis=-1)
        j, i = np.unravel_index(int(np.argmax(chroma)), chroma.shape)
        worst = int(chroma[j, i])
        got = tuple(int(v) for v in samples[j, i])
        return worst <= p["max_chroma"], f"max chroma {worst} (sample {got})"
    return False, f"unknown probe kind {k}"


# --------------------------------------------------------------------------- audio checks


def tone_amp(x: np.ndarray, rate: int, f: float) -> float:
    """Peak amplitude of the f-Hz sine in x (Hann-windowed single-bin DFT)."""
    n = len(x)
    if n < 16:
        return 0.0
    i = np.arange(n, dtype=np.float64)
    hw = 0.5 - 0.5 * np.cos(2 * np.pi * i / (n - 1))
    v = np.asarray(x, np.float64) * hw
    ph = 2 * np.pi * f / rate * i
    re = float(np.dot(v, np.cos(ph)))
    im = -float(np.dot(v, np.sin(ph)))
    return 2 * math.hypot(re, im) / float(hw.sum())


def rms(x: np.ndarray) -> float:
    x = np.asarray(x, np.float64)
    return math.sqrt(float(np.dot(x, x)) / max(1, len(x)))


def dbfs(a: float) -> float:
    return 20 * math.log10(a) if a > 1e-9 else -180.0


# --------------------------------------------------------------------------- driver


def check_render(mp4_path: str | os.PathLike, expectations: dict) -> list[Result]:
    """All checks of ``expectations`` (the expectations.json dict) against ``mp4_path``."""
    exp = expectations
    results: list[Result] = []

    def rec(name, ok, detail, soft=False):
        results.append(Result(name, bool(ok), bool(soft), detail))

    times = [fr["t"] for fr in exp.get("frames", [])]
    dec = decode_for_probe(mp4_path, times)
    if not dec.has_video:
        rec("video stream", False, "no video stream")
    else:
        w, h = dec.width, dec.height
        W, H = exp["canvas"]
        rec("resolution", (w, h) == (W, H), f"got {w}x{h}, want {W}x{H}")
        tol = exp.get("duration_tol_s", 0.1)
        rec(
            "duration",
            abs(dec.duration_s - exp["duration_s"]) <= tol,
            f"got {dec.duration_s:.3f}s, want {exp['duration_s']:.3f}s ±{tol}",
        )
        for fr in exp.get("frames", []):
            img = dec.frames.get(fr["t"])
            for p in fr["probes"]:
                name = f"t={fr['t']} {p['kind']} {p.get('what', '')}"
                soft = p.get("soft", False)
                if img is None:
                    rec(name, False, "no frame decoded at this time", soft)
                    continue
                if (w, h) != tuple(exp["canvas"]):
                    rec(name, False, "skipped: wrong resolution", soft)
                    continue
                ok, detail = check_probe(p, img)
                rec(name, ok, detail, soft)

    audio = dec.audio
    for ap in exp.get("audio", []):
        win = f"audio {ap['t0']:.2f}-{ap['t1']:.2f}s"
        soft = ap.get("soft", False)
        if audio is None:
            if ap.get("silent"):
                rec(win + " silent", True, "no audio stream (counts as silent)")
            else:
                rec(win, False, "no audio stream", soft)
            continue
        seg = audio[int(ap["t0"] * RATE) : int(ap["t1"] * RATE)]
        if ap.get("silent"):
            r = dbfs(rms(seg))
            rec(win + " silent", r <= ap["max_dbfs"], f"RMS {r:.1f} dBFS (max {ap['max_dbfs']})")
            continue
        for t in ap.get("tones", []):
            got = tone_amp(seg, RATE, t["hz"])
            d = dbfs(got) - dbfs(t["amp"])
            rec(
                f"{win} {t['hz']}Hz present",
                abs(d) <= ap["tol_db"],
                f"amp {got:.4f} ({dbfs(got):.1f} dBFS), want {t['amp']:.4f} ({dbfs(t['amp']):.1f} dBFS), "
                f"diff {d:+.1f} dB",
                soft,
            )
        for f in ap.get("absent", []):
            got = tone_amp(seg, RATE, f)
            rec(f"{win} {f}Hz absent", got < 0.01, f"amp {got:.4f} ({dbfs(got):.1f} dBFS), must be < -40 dBFS", soft)
    return results
