"""The composite stage alone (pytest-benchmark): warp-once layer cache and still mip-maps.

    pytest bench/test_bench_composite.py --benchmark-only -s

Pictures are made (or decoded) before timing, so only ``Compositor.compose`` is measured,
with the session caches (``cached``: LayerCache + MipCache, what a render uses) and
without (``uncached``: every layer warped every frame, a still's mip level rebuilt every
frame — the compositor before the caches):

* ``kenburns``: a 1080×1920 frame of the short-video job — a 12 MP (4032×3024) photo
  fitted and zoomed 1.0 → 1.15 over 5 s with a slight pan, a static RGBA logo and a
  static two-line stroked CJK caption in the bottom third;
* ``reference``: frames of the reference draft (fixtures/reference.py, 1920×1080: clip A
  with the picture-in-picture and the logo, and frames of the A→B dissolve), decoded first.

``test_composite_ab_interleaved`` alternates the two variants round by round (the box is
shared, so both see the same load), prints per-frame medians and their ratio, the PSNR of
the mip-level Ken Burns warp against the full-size warp, and writes
bench/results/composite.json.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pytest

from compositor.catalog import still_planes
from compositor.geometry import Affine, pixel_box
from compositor.kernels import warp_blend, yuv420_to_rgb
from compositor.media.planes import Planes
from compositor.pictures import PicturePool
from compositor.pipeline import RenderOptions, open_draft
from compositor.pixels.compose import Compositor
from compositor.pixels.layer_cache import LayerCache, MipCache
from compositor.plan import BLACK_FILL, DrawOp, FramePlan, plan_frame
from compositor.text import TextEngine, TextSpec
from compositor.text.fonts import FontSettings
from tests.text_helpers import BLACK, WHITE, content, shadow, style

RESULTS = Path(__file__).resolve().parent / "results"

W, H = 1080, 1920
FPS = 30
KB_FRAMES = 150  # 5 s
PHOTO_W, PHOTO_H = 4032, 3024


def _photo() -> Planes:
    """A 12 MP textured 'phone photo' (smooth shapes + sensor grain)."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:PHOTO_H, 0:PHOTO_W].astype(np.float32)
    r = np.hypot(xx - PHOTO_W * 0.4, yy - PHOTO_H * 0.55)
    rgb = np.empty((PHOTO_H, PHOTO_W, 3), np.float32)
    rgb[..., 0] = 127 + 100 * np.sin(r / 37)
    rgb[..., 1] = 127 + 100 * np.sin(xx / 93 + yy / 151)
    rgb[..., 2] = 127 + 100 * np.cos(r / 71 - xx / 230)
    rgb += rng.normal(0, 5, size=rgb.shape).astype(np.float32)
    return still_planes(np.clip(rgb, 0, 255).astype(np.uint8))


def _logo() -> Planes:
    s = 400
    yy, xx = np.mgrid[0:s, 0:s]
    d = np.hypot(xx - s / 2, yy - s / 2)
    rgba = np.zeros((s, s, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = (xx * 255 // s).astype(np.uint8)
    rgba[..., 2] = 60
    rgba[..., 3] = np.clip((s * 0.45 - d) * 4, 0, 255).astype(np.uint8)
    return still_planes(rgba)


def _caption() -> Planes:
    st = style(0, 64, size=10, color=WHITE, stroke=BLACK, shadows=[shadow(alpha=0.8, distance=6, diffuse=0.025)])
    spec = TextSpec(content=content("这是一条用来测试的两行字幕\n描边和阴影都打开了", st), type="subtitle", alignment=1)
    return TextEngine(FontSettings(system_fonts=False)).layer(spec, W, H).planes()


def _op(key: str, m: Affine, pic: Planes, kind: str = "media") -> DrawOp:
    box = pixel_box(m.bounds(pic.width, pic.height), W, H)
    assert box is not None
    alpha = pic.a is not None
    return DrawOp(key, key, True, alpha, None, (0, 0, pic.width, pic.height), m, 1.0, box, kind=kind)


def kenburns_matrix(n: int) -> Affine:
    """Fit (contain) the photo, zoom 1.0 → 1.15 over 5 s around the centre, pan 3 % left."""
    p = min(n, KB_FRAMES - 1) / (KB_FRAMES - 1)
    fit = min(W / PHOTO_W, H / PHOTO_H)
    return (
        Affine.translate(-PHOTO_W / 2, -PHOTO_H / 2)
        .then(Affine.scale(fit * (1.0 + 0.15 * p)))
        .then(Affine.translate(W / 2 - 0.03 * W * p, H / 2))
    )


class KenBurnsScene:
    def __init__(self):
        self.photo, self.logo, self.caption = _photo(), _logo(), _caption()
        self.pictures = {"photo": self.photo, "logo": self.logo, "caption": self.caption}
        logo_m = Affine.scale(0.5).then(Affine.translate(60.5, 140.25))
        cap_m = Affine.translate((W - self.caption.width) / 2 + 0.5, H * 0.72 + 0.25)
        self.logo_op = _op("logo", logo_m, self.logo)
        self.caption_op = _op("caption", cap_m, self.caption, kind="text")

    def plan(self, n: int) -> FramePlan:
        photo = _op("photo", kenburns_matrix(n % KB_FRAMES), self.photo)
        return FramePlan(n, 0, (BLACK_FILL, photo, self.logo_op, self.caption_op))

    def picture(self, op: DrawOp) -> Planes:
        return self.pictures[op.media_key]

    def frames(self):
        return [(self.plan(n), self.picture) for n in range(KB_FRAMES)]


def _canvas(w: int, h: int) -> Planes:
    cw, ch = (w + 1) // 2, (h + 1) // 2
    return Planes(np.zeros((h, w), np.uint8), np.zeros((ch, cw), np.uint8), np.zeros((ch, cw), np.uint8))


def _compositor(cached: bool, w: int, h: int) -> Compositor:
    if cached:
        return Compositor(w, h, layers=LayerCache(), mips=MipCache())
    return Compositor(w, h)


@pytest.fixture(scope="module")
def kenburns() -> KenBurnsScene:
    return KenBurnsScene()


REF_FRAMES = [*range(90, 102), *range(288, 300)]  # A + PiP + logo at 3 s; the A→B dissolve at 9.6 s


@pytest.fixture(scope="module")
def reference_frames(reference_20s):
    """(plan, pictures) of REF_FRAMES of the reference draft, decoded up front (video frames
    copied; stills are the catalog's own pictures, as in a render)."""
    session = open_draft(reference_20s, RenderOptions())
    tl = session.timeline
    out = []
    with PicturePool(tl, session.catalog, decode_threads=1) as pool:
        for n in range(REF_FRAMES[-1] + 1):
            plan = plan_frame(tl, n)
            pool.advance(plan.t_us)
            got = {}
            for op in plan.sources():
                pic = pool(op)
                got[(op.segment_id, op.media_key)] = pic if op.is_still else (pic.copy() if n in REF_FRAMES else None)
            if n in REF_FRAMES:
                out.append((plan, lambda op, got=got: got[(op.segment_id, op.media_key)]))
    return (tl.width, tl.height), out


def _run(comp: Compositor, dst: Planes, frames, count: int, start: int = 0) -> tuple[float, float]:
    """(wall, CPU) seconds per frame over ``count`` frames (cycling through ``frames``).
    CPU time is this thread's (the kernels run in it): less disturbed by a loaded box."""
    t0, c0 = time.perf_counter(), time.thread_time()
    for i in range(start, start + count):
        plan, pictures = frames[i % len(frames)]
        comp.compose(plan, dst, pictures)
    return (time.perf_counter() - t0) / count, (time.thread_time() - c0) / count


def _bench_frames(benchmark, comp, dst, frames) -> None:
    """pytest-benchmark one composed frame at a time, cycling through ``frames`` (after 3
    untimed frames: JIT, first records)."""
    _run(comp, dst, frames, 3)
    n = [0]

    def one():
        n[0] += 1
        plan, pictures = frames[n[0] % len(frames)]
        comp.compose(plan, dst, pictures)

    benchmark(one)


@pytest.mark.parametrize("cached", [True, False], ids=["cached", "uncached"])
def test_composite_kenburns_1080x1920(benchmark, kenburns, cached):
    frames = kenburns.frames()
    _bench_frames(benchmark, _compositor(cached, W, H), _canvas(W, H), frames)


@pytest.mark.parametrize("cached", [True, False], ids=["cached", "uncached"])
def test_composite_reference_1080p(benchmark, reference_frames, cached):
    (w, h), frames = reference_frames
    _bench_frames(benchmark, _compositor(cached, w, h), _canvas(w, h), frames)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def kenburns_psnr(scene: KenBurnsScene, frames=(0, 40, 80, 120, 149)) -> float:
    """Lowest PSNR (dB, RGB at the output size, over the photo's box) of the photo warped
    from its mip level (what the compositor draws) against the same warp from the
    full-size still."""
    worst = math.inf
    comp = Compositor(W, H, mips=MipCache())
    for n in frames:
        m = kenburns_matrix(n)
        op = _op("photo", m, scene.photo)
        mip = _canvas(W, H)
        comp.draw(mip, op, scene.photo)
        full = _canvas(W, H)
        inv, inv_c = _rows(m.inverse()), _rows(m.halved().inverse())
        x0, y0, x1, y1 = op.box
        box_c = (x0 // 2, y0 // 2, (x1 + 1) // 2, (y1 + 1) // 2)
        warp_blend(full.y, scene.photo.y, None, inv, 1.0, op.box)
        warp_blend(full.u, scene.photo.u, None, inv_c, 1.0, box_c)
        warp_blend(full.v, scene.photo.v, None, inv_c, 1.0, box_c)
        a = yuv420_to_rgb(mip.y, mip.u, mip.v)[y0:y1, x0:x1]
        b = yuv420_to_rgb(full.y, full.u, full.v)[y0:y1, x0:x1]
        worst = min(worst, psnr(a, b))
    return worst


def kenburns_psnr_vs_lanczos(scene: KenBurnsScene) -> dict[str, float]:
    """PSNR (dB, RGB, photo interior) at frame 0 (zoom 1.0, the photo exactly 1080×810) of
    the mip-level warp and of the full-size warp against a Lanczos resize of the photo
    (Pillow), put through the same 4:2:0 round trip: which of the two is closer to a
    well-filtered picture."""
    from PIL import Image

    from compositor.kernels import rgba_to_yuva420

    m = kenburns_matrix(0)
    op = _op("photo", m, scene.photo)
    x0, y0, x1, y1 = op.box
    assert (x0, y0, x1, y1) == (0, 554, 1080, 1366)  # the photo covers rows 555 .. 1365
    drawn = {"mip": _canvas(W, H), "full": _canvas(W, H)}
    Compositor(W, H, mips=MipCache()).draw(drawn["mip"], op, scene.photo)
    box_c = (x0 // 2, y0 // 2, (x1 + 1) // 2, (y1 + 1) // 2)
    warp_blend(drawn["full"].y, scene.photo.y, None, _rows(m.inverse()), 1.0, op.box)
    warp_blend(drawn["full"].u, scene.photo.u, None, _rows(m.halved().inverse()), 1.0, box_c)
    warp_blend(drawn["full"].v, scene.photo.v, None, _rows(m.halved().inverse()), 1.0, box_c)
    rgb = yuv420_to_rgb(scene.photo.y, scene.photo.u, scene.photo.v)
    ref = np.asarray(Image.fromarray(rgb).resize((1080, 810), Image.LANCZOS))
    ry, ru, rv, _, _ = rgba_to_yuva420(np.dstack([ref, np.full(ref.shape[:2], 255, np.uint8)]))
    ref = yuv420_to_rgb(ry, ru, rv)[4:806, 4:1076]
    top = 555  # the photo's first row: (0 − 3024/2)·fit + 1920/2
    out = {}
    for k, p in drawn.items():
        out[k] = round(psnr(yuv420_to_rgb(p.y, p.u, p.v)[top + 4 : top + 806, 4:1076], ref), 2)
    return out


def _rows(m: Affine) -> np.ndarray:
    return np.array([[m.a, m.b, m.c], [m.d, m.e, m.f]])


def test_composite_ab_interleaved(benchmark, kenburns, reference_frames, capsys):
    """Before (uncached) / after (cached) per-frame composite time, interleaved rounds."""
    results: dict = {"load_average": os.getloadavg()}
    benchmark.pedantic(lambda: _ab(kenburns, reference_frames, results), rounds=1, iterations=1)
    results["kenburns_mip_psnr_db"] = round(kenburns_psnr(kenburns), 2)
    results["kenburns_psnr_vs_lanczos_db"] = kenburns_psnr_vs_lanczos(kenburns)
    results["load_average_after"] = os.getloadavg()
    benchmark.extra_info.update(results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "composite.json").write_text(json.dumps(results, indent=1) + "\n")
    with capsys.disabled():
        print("\ncomposite per frame (median of interleaved rounds):", json.dumps(results))
    assert results["kenburns_1080x1920"]["after_cpu_ms"] > 0


def _ab(kenburns: KenBurnsScene, reference_frames, results: dict) -> None:
    rounds, per_round = 11, 24
    cases = {"kenburns_1080x1920": ((W, H), kenburns.frames()), "reference_1920x1080": reference_frames}
    for name, ((w, h), frames) in cases.items():
        comps = {v: (_compositor(v == "after", w, h), _canvas(w, h)) for v in ("before", "after")}
        for comp, dst in comps.values():
            _run(comp, dst, frames, 3)
        times: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
        for r in range(rounds):
            for v in ("before", "after") if r % 2 == 0 else ("after", "before"):
                comp, dst = comps[v]
                times[v].append(_run(comp, dst, frames, per_round, start=r * per_round))
        wall = {v: statistics.median(t[0] for t in times[v]) for v in times}
        cpu = {v: statistics.median(t[1] for t in times[v]) for v in times}
        results[name] = {
            "before_cpu_ms": round(cpu["before"] * 1e3, 2),
            "after_cpu_ms": round(cpu["after"] * 1e3, 2),
            "speedup_cpu": round(cpu["before"] / cpu["after"], 2),
            "before_wall_ms": round(wall["before"] * 1e3, 2),
            "after_wall_ms": round(wall["after"] * 1e3, 2),
            "speedup_wall": round(wall["before"] / wall["after"], 2),
            "rounds": rounds,
            "frames_per_round": per_round,
            "before_cpu_ms_rounds": [round(t[1] * 1e3, 2) for t in times["before"]],
            "after_cpu_ms_rounds": [round(t[1] * 1e3, 2) for t in times["after"]],
        }
