"""The library API and the CLI on a small conformance draft (real media, small output)."""

import threading

import av
import numpy as np
import pytest

from compositor import Cancelled, RenderOptions, open_draft, render
from compositor.cli import main
from fixtures.local_draft import materialize


@pytest.fixture(scope="module")
def draft02(tmp_path_factory, media_dir):
    return materialize("02_concat_transitions", tmp_path_factory.mktemp("api"), media_dir, scale=0.25)


def test_frames_iterates_rgb_arrays_with_pts(draft02):
    session = open_draft(draft02, RenderOptions(width=160, end_us=200_000))
    got = list(session.frames())
    assert session.frame_count == 6 == len(got)
    assert [pts for pts, _ in got] == [0, 33333, 66667, 100000, 133333, 166667]
    rgb = got[0][1]
    assert rgb.shape == (90, 160, 3) and rgb.dtype == np.uint8
    assert np.abs(rgb[45, 80].astype(int) - (255, 0, 0)).max() <= 12  # the red clip


def test_time_range_renders_the_selected_span(draft02, tmp_path):
    out = tmp_path / "range.mp4"
    res = render(draft02, out, RenderOptions(width=160, start_us=7_000_000, end_us=8_000_000, preset="ultrafast"))
    assert res.frames == 30 and res.duration_us == 1_000_000
    with av.open(str(out)) as c:
        frame = next(c.decode(video=0))
        rgb = frame.to_ndarray(format="rgb24")
        assert np.abs(rgb[45, 80].astype(int) - (0, 255, 0)).max() <= 12  # green clip at 7 s
        assert c.streams.audio[0].rate == 48000 and c.streams.audio[0].channels == 2


def test_progress_and_cancel(draft02, tmp_path):
    out = tmp_path / "cancelled.mp4"
    seen = []
    stop = threading.Event()

    def progress(p):
        seen.append(p.frames_done)
        if p.frames_done == 5:
            stop.set()

    with pytest.raises(Cancelled):
        open_draft(draft02, RenderOptions(width=160, preset="ultrafast")).render(out, progress=progress, cancel=stop)
    assert seen == [1, 2, 3, 4, 5]
    assert not out.exists() and not list(tmp_path.glob("*.part.mp4"))


def test_cli_probe_lists_timeline_and_warnings(draft02, capsys):
    assert main(["probe", str(draft02)]) == 0
    out = capsys.readouterr().out
    assert "output 1920x1080 @ 30 fps" in out and "transition 叠化 (dissolve)" in out
    assert "warning: approximated transition 向右擦除" in out


def test_cli_render_prints_a_summary(draft02, tmp_path, capsys):
    out = tmp_path / "cli.mp4"
    assert (
        main(
            [
                "render",
                str(draft02),
                "-o",
                str(out),
                "--width",
                "160",
                "--end",
                "0.5",
                "--quiet",
                "--preset",
                "ultrafast",
            ]
        )
        == 0
    )
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"rendered {out}: 15 frames") and "x realtime" in line
    assert out.stat().st_size > 0


def test_cli_failure_is_one_line_with_a_code(tmp_path, capsys):
    assert main(["probe", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error DRAFT_NOT_FOUND")


def test_cli_bad_draft_json_names_the_path(tmp_path, capsys):
    bad = tmp_path / "draft_content.json"
    bad.write_text('{"tracks": [{"type": "video", "segments": [{"target_timerange": {"duration": "x"}}]}]}')
    assert main(["probe", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "error DRAFT_INVALID" in err and "$.tracks[0].segments[0].target_timerange.duration" in err


def test_missing_media_names_the_file(tmp_path, capsys):
    folder = tmp_path / "20261125063317dddcc863"
    folder.mkdir()
    from fixtures.local_draft import DRAFTS

    (folder / "draft_content.json").write_bytes((DRAFTS / "01_single_video_1080p" / "draft_content.json").read_bytes())
    assert main(["probe", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "error ASSET_UNREACHABLE" in err and "assets/videos/" in err


def test_a_draft_without_text_never_loads_the_text_engine(draft02, tmp_path):
    """FreeType, HarfBuzz and the fonts (~14 MB) are loaded only by drafts with captions."""
    import subprocess
    import sys

    code = (
        "import sys; from compositor import RenderOptions, open_draft; "
        f"open_draft({str(draft02)!r}, RenderOptions(width=160, end_us=100_000, preset='ultrafast'))"
        f".render({str(tmp_path / 'no_text.mp4')!r}); "
        "print(sorted(m for m in sys.modules if m.startswith(('compositor.text', 'freetype', 'uharfbuzz'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]", out
