"""Decode CPU per source: decoding matched to what is visible, A/B in the same run.

    pytest bench/test_bench_decode.py --benchmark-only -s

Three workloads on phone-like sources (fixtures/phone_media.py: x264 High 1080p30,
12 Mb/s, 2-s GOP, B-frames, moving grain), each decoded by the renderer's own picture
pool over every output frame (no compositing, no encoding; one decode thread per source,
as on this 2-core box):

* ``reference`` — the reference composition (fixtures/reference.py): the 40 % PiP is drawn
  at ≤ ½, so its unreferenced frames skip the loop filter;
* ``speed2`` — one clip at 2× for 5 s (10 s of source);
* ``covered`` — a 10-s clip under an opaque full-frame clip for the first half of its window.

Each round runs the baseline (``decode_visible_only=False, skip_loop_filter=False``: every
frame decoded and converted) and the new path back to back, alternating which goes first;
the CPU-seconds of each source's decode thread are summed per run. The summary prints
best-of-rounds CPU per source, the ratio, and the load average, and writes
bench/results/decode.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from compositor.pipeline import RenderOptions, open_draft
from compositor.plan import plan_frame
from fixtures import reference
from fixtures.phone_media import phone_reference_media

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench"
RESULTS = ROOT / "bench" / "results"
ROUNDS = 3


@pytest.fixture(scope="session")
def phone_media() -> Path:
    media_dir = CACHE / "phone-media"
    phone_reference_media(media_dir)
    return media_dir


def _clip(scale=1.0) -> dict:
    return {
        "alpha": 1.0,
        "rotation": 0.0,
        "flip": {"horizontal": False, "vertical": False},
        "scale": {"x": scale, "y": scale},
        "transform": {"x": 0.0, "y": 0.0},
    }


def _seg(sid: str, mid: str, start: int, dur: int, *, src_start: int = 0, speed: float = 1.0, z: int = 1) -> dict:
    return {
        "id": sid,
        "material_id": mid,
        "target_timerange": {"start": start, "duration": dur},
        "source_timerange": {"start": src_start, "duration": round(dur * speed)},
        "speed": speed,
        "volume": 1.0,
        "visible": True,
        "extra_material_refs": [],
        "clip": _clip(),
        "uniform_scale": {"on": True, "value": 1.0},
        "common_keyframes": [],
        "render_index": z,
    }


def _draft(folder: Path, media: Path, tracks: list[list[dict]], duration_us: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    videos = [
        {"id": f"mat_{n}", "type": "video", "path": str((media / f"{n}.mp4").resolve()), "width": 1920, "height": 1080}
        | {"duration": int(reference.MEDIA[f"{n}.mp4"][0] * 1e6)}
        for n in ("a", "b")
    ]
    obj = {
        "canvas_config": {"width": 1920, "height": 1080},
        "fps": 30,
        "duration": duration_us,
        "materials": {"videos": videos, "audios": []},
        "tracks": [
            {"id": f"t{i}", "type": "video", "name": f"t{i}", "attribute": 0, "segments": segs}
            for i, segs in enumerate(tracks)
        ],
    }
    (folder / "draft_content.json").write_text(json.dumps(obj), "utf-8")
    return folder


@pytest.fixture(scope="session")
def workloads(phone_media) -> dict[str, Path]:
    ref = reference.build(CACHE / "phone", repeats=1, media_dir=phone_media)
    speed = _draft(CACHE / "phone" / "speed2", phone_media, [[_seg("S", "mat_a", 0, 5_000_000, speed=2.0)]], 5_000_000)
    covered = _draft(
        CACHE / "phone" / "covered",
        phone_media,
        [[_seg("U", "mat_a", 0, 10_000_000)], [_seg("T", "mat_b", 0, 5_000_000, z=2)]],
        10_000_000,
    )
    return {"reference": ref, "speed2": speed, "covered": covered}


def decode_cpu(folder: Path, *, new: bool) -> dict[str, dict]:
    """Decode every picture the output needs, in output order; per-segment DecodeStats."""
    opts = RenderOptions(threads=1, decode_visible_only=new, skip_loop_filter=new)
    session = open_draft(folder, opts)
    tl = session.timeline
    with session.picture_pool() as pool:
        for n in range(tl.frame_count):
            plan = plan_frame(tl, n)
            pool.advance(plan.t_us)
            for op in plan.sources():
                pool(op)
    return {
        sid: {"cpu_s": st.cpu_s, "decoded": st.decoded, "converted": st.converted, "seeks": st.seeks}
        for sid, st in sorted(pool.decode_stats.items())
    }


def _ab(folder: Path) -> dict:
    runs: dict[str, list[dict[str, dict]]] = {"before": [], "after": []}
    for r in range(ROUNDS):
        order = ("before", "after") if r % 2 == 0 else ("after", "before")
        for which in order:
            runs[which].append(decode_cpu(folder, new=which == "after"))
    out: dict = {"load_avg": os.getloadavg(), "sources": {}}
    for sid in sorted(set(runs["before"][0]) | set(runs["after"][0])):
        before = [run.get(sid, {}).get("cpu_s", 0.0) for run in runs["before"]]
        after = [run.get(sid, {}).get("cpu_s", 0.0) for run in runs["after"]]
        out["sources"][sid] = {
            "before_cpu_s": min(before),
            "after_cpu_s": min(after),
            "ratio": (min(after) / min(before)) if min(before) else None,
            "before": runs["before"][0].get(sid),
            "after": runs["after"][0].get(sid),
        }
    tb = sum(s["before_cpu_s"] for s in out["sources"].values())
    ta = sum(s["after_cpu_s"] for s in out["sources"].values())
    out["total"] = {"before_cpu_s": tb, "after_cpu_s": ta, "ratio": ta / tb if tb else None}
    return out


_RESULTS: dict = {}


@pytest.mark.parametrize("name", ["reference", "speed2", "covered"])
def test_decode_cpu(benchmark, workloads, name):
    result: dict = {}
    benchmark.pedantic(lambda: result.update(_ab(workloads[name])), rounds=1, iterations=1, warmup_rounds=0)
    _RESULTS[name] = result
    benchmark.extra_info.update({"total": result["total"], "load_avg": result["load_avg"]})


def test_decode_summary(benchmark):
    """Print and save the A/B (takes ``benchmark`` only so that ``--benchmark-only`` runs it)."""
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    if not _RESULTS:
        pytest.skip("no decode benchmark ran")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "decode.json").write_text(json.dumps(_RESULTS, indent=1), "utf-8")
    for name, res in _RESULTS.items():
        print(f"\n{name}: load {res['load_avg'][0]:.2f}")
        for sid, s in res["sources"].items():
            print(
                f"  {sid:4s} decode CPU {s['before_cpu_s']:.2f} s → {s['after_cpu_s']:.2f} s"
                f"  (×{(s['ratio'] or 0):.2f})  frames {s['before']} → {s['after']}"
            )
        t = res["total"]
        print(f"  total {t['before_cpu_s']:.2f} s → {t['after_cpu_s']:.2f} s (×{(t['ratio'] or 0):.2f})")
