"""Stage accounting (compositor/stage_stats.py): the clock's arithmetic, the figures a render
returns, and ``render --stats`` (tiny output: a caption draft at 160 px, half a second)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from compositor import RenderOptions, open_draft
from compositor.cli import main
from compositor.stage_stats import CODEC_THREADS, StageClock, StageStats, StageTime
from fixtures.local_draft import materialize

MAIN_STAGES = ("composite", "text", "audio", "encode", CODEC_THREADS, "main:other")
SLACK_S = 0.05  # clock granularity per stage


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_nested_measurements_are_exclusive():
    clock = StageClock()
    with clock.measure("outer"):
        _spin(0.02)
        with clock.measure("inner"):
            _spin(0.03)
    stats = clock.finish()
    outer, inner = stats.get("outer"), stats.get("inner")
    assert outer is not None and inner is not None
    assert inner.cpu_s >= 0.03 and 0.02 <= outer.cpu_s < 0.02 + inner.cpu_s
    assert outer.calls == inner.calls == 1
    assert stats.stage_cpu_s <= stats.process_cpu_s + SLACK_S


def test_other_threads_report_and_the_rest_is_codec_threads():
    clock = StageClock()

    def worker():
        cpu0 = time.thread_time()
        _spin(0.03)
        clock.add("decode:x.mp4", time.thread_time() - cpu0, 0.03)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    stats = clock.finish()
    names = [s.name for s in stats.stages]
    assert names[0] == "decode:x.mp4" and CODEC_THREADS in names
    assert stats.get("decode:x.mp4").cpu_s >= 0.03
    assert all(s.cpu_s >= 0 and s.wall_s >= 0 for s in stats.stages)
    # the remainder makes the stages add up to the process CPU
    assert stats.stage_cpu_s == pytest.approx(max(stats.process_cpu_s, stats.stage_cpu_s), abs=SLACK_S)


def test_with_stage_adds_to_the_totals_and_the_table_has_one_line_per_stage():
    stats = StageStats(stages=(StageTime("composite", 1.0, 2.0, 3),), wall_s=2.5, process_cpu_s=1.5)
    both = stats.with_stage(StageTime("open", 0.5, 0.25, 1))
    assert [s.name for s in both.stages] == ["open", "composite"]
    assert both.process_cpu_s == 2.0 and both.wall_s == 2.75
    assert stats.with_stage(None) is stats
    lines = both.lines()
    assert lines[0].split() == ["stage", "cpu_s", "wall_s", "calls"]
    assert lines[1].split() == ["open", "0.500", "0.250", "1"]
    assert lines[-1].split()[:2] == ["total", "(process)"] and len(lines) == 4
    assert both.to_dict()["stages"]["composite"] == {"cpu_s": 1.0, "wall_s": 2.0, "calls": 3}


@pytest.fixture(scope="module")
def captions(tmp_path_factory, media_dir):
    return materialize("05_captions_zh_styles", tmp_path_factory.mktemp("stats"), media_dir, scale=0.25)


def _check_sane(stats: dict) -> None:
    stages = stats["stages"]
    for name in MAIN_STAGES:
        assert name in stages, name
    assert any(n.startswith("decode:") for n in stages)
    assert all(s["cpu_s"] >= 0 and s["wall_s"] >= 0 and s["calls"] >= 0 for s in stages.values())
    total = sum(s["cpu_s"] for s in stages.values())
    assert total <= stats["process_cpu_s"] + SLACK_S * len(stages)
    assert stats["process_cpu_s"] > 0 and stats["wall_s"] > 0


def test_render_result_carries_the_stages(captions, tmp_path):
    session = open_draft(captions, RenderOptions(width=160, end_us=500_000, preset="ultrafast"))
    assert session.open_stage is not None and session.open_stage.name == "open"
    result = session.render(tmp_path / "s.mp4")
    assert result.stages is not None
    stats = result.stages.to_dict()
    _check_sane(stats)
    assert stats["stages"]["composite"]["calls"] == result.frames == 15
    assert stats["stages"]["text"]["calls"] >= 1
    assert stats["stages"]["encode"]["calls"] >= result.frames  # frames, audio blocks, close


def test_cli_stats_prints_a_table(captions, tmp_path, capsys):
    args = ["render", str(captions), "-o", str(tmp_path / "c.mp4"), "--width", "160", "--end", "0.5", "--quiet"]
    assert main(args + ["--preset", "ultrafast", "--stats"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("rendered ")
    assert lines[1].split() == ["stage", "cpu_s", "wall_s", "calls"]
    assert lines[2].split()[0] == "open" and lines[-1].startswith("total (process)")
    names = {line.split()[0] for line in lines[2:-1]}
    assert {"composite", "text", "audio", "encode"} <= names
    for line in lines[2:-1]:
        assert float(line.split()[-3]) >= 0 and float(line.split()[-2]) >= 0


def test_cli_stats_json_is_one_line(captions, tmp_path, capsys):
    args = ["render", str(captions), "-o", str(tmp_path / "j.mp4"), "--width", "160", "--end", "0.5", "--quiet"]
    assert main(args + ["--preset", "ultrafast", "--stats", "json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    _check_sane(json.loads(lines[1]))
