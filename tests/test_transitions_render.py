"""Conformance draft 02 rendered for real: the 叠化 dissolve and the 向右擦除 wipe inside their
windows (progress ¼, ½, ¾), direction and position of the wipe edge, and the overlap flag."""

from __future__ import annotations

import numpy as np
import pytest

from compositor import RenderOptions, open_draft
from fixtures.local_draft import materialize

pytestmark = pytest.mark.slow

OUT_W = 480
RED, GREEN, BLUE = np.array([255, 0, 0]), np.array([0, 255, 0]), np.array([0, 0, 255])


@pytest.fixture(scope="module")
def draft02(tmp_path_factory, media_dir):
    return materialize("02_concat_transitions", tmp_path_factory.mktemp("d02"), media_dir, scale=0.25)


def _frames(folder, start_us, end_us):
    """{timeline µs: rgb} for the frames in [start, end) at OUT_W wide."""
    session = open_draft(folder, RenderOptions(width=OUT_W, start_us=start_us, end_us=end_us))
    tl = session.timeline
    return {tl.timeline_us(i): rgb for i, (_, rgb) in enumerate(session.frames())}


def _nearest(frames, t_us):
    t = min(frames, key=lambda k: abs(k - t_us))
    return t, frames[t]


def test_dissolve_mixes_linearly_inside_its_window(draft02):
    # 叠化, 1 s, centred on the cut at 5 s: window [4.5, 5.5)
    frames = _frames(draft02, 4_400_000, 5_600_000)
    for q in (0.25, 0.5, 0.75):
        t, rgb = _nearest(frames, 4_500_000 + q * 1_000_000)
        p = (t - 4_500_000) / 1_000_000
        want = RED + (GREEN - RED) * p
        got = rgb[135, 240].astype(float)
        assert np.abs(got - want).max() <= 10, (q, t, got, want)
        # the picture is uniform: every pixel is the same mix
        assert np.abs(rgb[20:250:40, 20:460:40].astype(float) - want).max() <= 12
    _, before = _nearest(frames, 4_433_333)
    _, after = _nearest(frames, 5_566_667)
    assert np.abs(before[135, 240].astype(int) - RED).max() <= 8
    assert np.abs(after[135, 240].astype(int) - GREEN).max() <= 8


def _edge(row):
    """First column (from the left) where the row turns from blue to green."""
    blue = np.abs(row.astype(int) - BLUE).max(axis=1) < 60
    green = np.abs(row.astype(int) - GREEN).max(axis=1) < 60
    assert blue[0] or not green[0]
    xs = [x for x in range(1, len(row)) if green[x] and not green[x - 1]]
    return xs[0] if xs else (len(row) if blue[-1] else 0)


def test_wipe_right_reveals_b_from_the_left_at_the_progress(draft02):
    # 向右擦除, 0.5 s, centred on the cut at 10 s: window [9.75, 10.25)
    frames = _frames(draft02, 9_700_000, 10_300_000)
    soft = max(2.0, 0.01 * OUT_W)
    for q in (0.25, 0.5, 0.75):
        t, rgb = _nearest(frames, 9_750_000 + q * 500_000)
        p = (t - 9_750_000) / 500_000
        want = -soft / 2 + p * (OUT_W + soft)
        for y in (10, 135, 260):
            row = rgb[y]
            x = _edge(row)
            assert abs(x - want) <= 4, (q, p, y, x, want)
            assert np.abs(row[: max(0, x - 6)].astype(int) - BLUE).max() <= 30  # B (blue) on the left
            assert np.abs(row[x + 6 :].astype(int) - GREEN).max() <= 30  # A (green) on the right
    _, before = _nearest(frames, 9_733_333)
    assert np.abs(before[135].astype(int) - GREEN).max() <= 8
    _, after = _nearest(frames, 10_266_667)
    assert np.abs(after[135].astype(int) - BLUE).max() <= 8


def test_draft02_reports_only_the_approximated_wipe(draft02):
    session = open_draft(draft02, RenderOptions(width=OUT_W))
    tr = [w for w in session.warnings if w.kind == "transition"]
    assert [(w.name, w.status, w.resource_id) for w in tr] == [("向右擦除", "approximated", "6724849898857959950")]
    assert (tr[0].start_us, tr[0].end_us) == (9_750_000, 10_250_000)
