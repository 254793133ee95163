"""The PyAV conformance probe (tests/media_probe.py) on generated files."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.media import make_video, scaled_spec
from fixtures.media_spec import CLOCK_COLORS, CLOCK_FREQS, MEDIA, QUAD

from .conftest import MEDIA_SCALE
from .media_probe import check_probe, check_render, dbfs, hard_failures, tone_amp


def _size(name):
    s = scaled_spec(MEDIA[name], MEDIA_SCALE)
    return s["w"], s["h"]


def test_clock_video_passes_its_own_expectations(media_dir):
    w, h = _size("clock_1920x1080_8s.mp4")
    inner = [w // 20, h // 20, w - w // 20, h - h // 20]
    frames = [
        {
            "t": sec + 0.5,
            "probes": [
                {"kind": "uniform", "rect": inner, "rgb": list(c), "tol": 24, "what": f"second {sec}"},
                {"kind": "pixel", "x": w // 2, "y": h // 2, "rgb": list(c), "tol": 24},
                {"kind": "contains", "rect": inner, "rgb": list(c), "tol": 24, "min_pixels": 100},
            ],
        }
        for sec, c in enumerate(CLOCK_COLORS)
    ]
    frames.append({"t": 6.5, "probes": [{"kind": "gray", "rect": inner, "max_chroma": 12}]})  # white
    audio = [
        {
            "t0": sec + 0.2,
            "t1": sec + 0.8,
            "tones": [{"hz": f, "amp": 0.5}],
            "absent": [CLOCK_FREQS[(sec + 1) % 8]],
            "tol_db": 2.0,
        }
        for sec, f in enumerate(CLOCK_FREQS)
    ]
    exp = {
        "name": "clock",
        "canvas": [w, h],
        "fps": 30,
        "duration_s": 8.0,
        "duration_tol_s": 0.1,
        "frames": frames,
        "audio": audio,
    }
    results = check_render(media_dir / "clock_1920x1080_8s.mp4", exp)
    assert not hard_failures(results), [r for r in results if not r.ok]
    assert len(results) == 2 + 3 * 8 + 1 + 2 * 8


def test_probe_reports_failures(media_dir):
    w, h = _size("quad_1920x1080_6s.mp4")
    q = lambda key: list(QUAD[key])  # noqa: E731
    exp = {
        "name": "quad",
        "canvas": [w, h],
        "duration_s": 6.0,
        "frames": [
            {
                "t": 1.0,
                "probes": [
                    {"kind": "pixel", "x": w // 4, "y": h // 4, "rgb": q("TL"), "tol": 24, "what": "TL"},
                    {"kind": "pixel", "x": 3 * w // 4, "y": h // 4, "rgb": q("TR"), "tol": 24, "what": "TR"},
                    {"kind": "pixel", "x": w // 4, "y": 3 * h // 4, "rgb": q("BL"), "tol": 24, "what": "BL"},
                    {"kind": "uniform", "rect": [w // 2 + 8, h // 2 + 8, w - 8, h - 8], "rgb": q("BR"), "tol": 24},
                    {"kind": "uniform", "rect": [0, 0, w, h], "rgb": q("TL"), "tol": 24, "what": "bad"},
                    {"kind": "gray", "rect": [0, 0, w // 2, h // 2], "max_chroma": 30, "what": "bad", "soft": True},
                ],
            },
            {"t": 99.0, "probes": [{"kind": "pixel", "x": 1, "y": 1, "rgb": [0, 0, 0], "tol": 24}]},
        ],
        "audio": [
            {"t0": 1.0, "t1": 2.0, "tones": [{"hz": 550, "amp": 0.5}], "absent": [440], "tol_db": 2.0},
            {"t0": 1.0, "t1": 2.0, "silent": True, "max_dbfs": -60},
        ],
    }
    by_name = {r.check: r for r in check_render(media_dir / "quad_1920x1080_6s.mp4", exp)}
    assert by_name["resolution"].ok and by_name["duration"].ok
    assert all(by_name[f"t=1.0 pixel {k}"].ok for k in ("TL", "TR", "BL"))
    assert by_name["t=1.0 uniform "].ok
    assert not by_name["t=1.0 uniform bad"].ok
    assert not by_name["t=1.0 gray bad"].ok and by_name["t=1.0 gray bad"].soft
    assert by_name["t=99.0 pixel "].detail == "no frame decoded at this time"
    assert by_name["audio 1.00-2.00s 550Hz present"].ok
    assert by_name["audio 1.00-2.00s 440Hz absent"].ok
    assert not by_name["audio 1.00-2.00s silent"].ok
    hard = hard_failures(list(by_name.values()))
    assert {r.check for r in hard} == {"t=1.0 uniform bad", "t=99.0 pixel ", "audio 1.00-2.00s silent"}


def test_wrong_resolution_and_missing_audio(tmp_path):
    path = make_video(tmp_path / "v.mp4", w=64, h=36, dur_s=1.0, color=(0, 255, 0))
    exp = {
        "name": "x",
        "canvas": [1920, 1080],
        "duration_s": 2.0,
        "frames": [{"t": 0.5, "probes": [{"kind": "pixel", "x": 5, "y": 5, "rgb": [0, 255, 0], "tol": 24}]}],
        "audio": [
            {"t0": 0.0, "t1": 1.0, "silent": True, "max_dbfs": -50},
            {"t0": 0.0, "t1": 1.0, "tones": [{"hz": 440, "amp": 0.5}], "absent": [], "tol_db": 2},
        ],
    }
    res = {r.check: r for r in check_render(path, exp)}
    assert not res["resolution"].ok and not res["duration"].ok
    assert res["t=0.5 pixel "].detail == "skipped: wrong resolution"
    assert res["audio 0.00-1.00s silent"].ok  # no audio stream counts as silent
    assert not res["audio 0.00-1.00s"].ok


def test_tone_amp_matches_the_reference_definition():
    rate = 48_000
    t = np.arange(12_345) / rate
    x = 0.25 * np.sin(2 * np.pi * 700 * t + 0.3) + 0.1 * np.sin(2 * np.pi * 1500 * t)
    assert tone_amp(x, rate, 700) == pytest.approx(0.25, rel=0.01)
    assert tone_amp(x, rate, 1500) == pytest.approx(0.1, rel=0.02)
    assert tone_amp(x, rate, 300) < 0.005
    assert dbfs(0.5) == pytest.approx(-6.02, abs=0.01) and dbfs(0) == -180.0


def test_check_probe_pixel_mean_and_edge_clamp():
    img = np.zeros((10, 10, 3), np.uint8)
    img[0:3, 0:3] = (90, 0, 0)
    ok, detail = check_probe({"kind": "pixel", "x": 0, "y": 0, "rgb": [90, 0, 0], "tol": 0}, img)
    assert ok, detail  # the 5×5 block clamps at the edge: all samples are (90, 0, 0)
    ok, detail = check_probe({"kind": "pixel", "x": 2, "y": 2, "rgb": [32, 0, 0], "tol": 0}, img)
    assert ok, detail  # 9 of 25 pixels → round(90·9/25) = 32
