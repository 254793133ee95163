"""JPEG photos decoded when drawn (catalogue ``deferred`` + the picture pool's windows):
the facts come from the header, the frames are those of photos decoded at open, only the
photos near the playhead are held, and a corrupt photo is a typed error."""

from __future__ import annotations

import json

import numpy as np
import pytest

from compositor import catalog as catalog_mod
from compositor.errors import MediaError
from compositor.pictures import STILL_PREFETCH_US
from compositor.pipeline import open_draft
from fixtures.media import make_image
from tests.draft_helpers import minimal_draft, segment, track, video_material

SEG_US = 1_500_000  # each photo shows this long, one after the other


def _photo_draft(tmp_path, *, corrupt: bool = False):
    rng = np.random.default_rng(3)
    photos = []
    for i, (w, h, orientation) in enumerate([(48, 30, None), (31, 45, 6), (40, 26, 3)]):
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        photos.append(make_image(tmp_path / f"p{i}.jpg", w=w, h=h, rgb=rgb, exif_orientation=orientation, quality=90))
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[5:15, 5:15] = (255, 255, 0, 200)
    logo = make_image(tmp_path / "logo.png", w=20, h=20, rgb=rgba)
    if corrupt:  # a valid header, the entropy-coded data cut short
        data = photos[2].read_bytes()
        photos[2].write_bytes(data[: len(data) // 2])
    mats = [video_material(f"p{i}", kind="photo") | {"path": str(p)} for i, p in enumerate(photos)]
    mats.append(video_material("logo", w=20, h=20, kind="photo") | {"path": str(logo)})
    segs = [segment(f"s{i}", f"p{i}", i * SEG_US, SEG_US) for i in range(3)]
    obj = minimal_draft(
        width=64,
        height=48,
        videos=mats,
        tracks=[
            track("t1", "video", segs),
            track("t2", "video", [segment("l", "logo", 0, 3 * SEG_US, render_index=2)]),
        ],
    )
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "draft_content.json").write_text(json.dumps(obj))
    return folder, [str(p) for p in photos], str(logo)


def test_jpegs_are_deferred_with_their_header_facts(tmp_path):
    folder, photos, logo = _photo_draft(tmp_path)
    session = open_draft(folder)
    cat = session.catalog
    assert set(cat.deferred) == set(photos) and set(cat.stills) == {logo}
    assert (cat.facts["p1"].width, cat.facts["p1"].height) == (45, 31)  # orientation 6 turns it
    assert (cat.facts["p2"].width, cat.facts["p2"].height) == (40, 26)
    assert not any(cat.facts[f"p{i}"].has_alpha for i in range(3)) and cat.facts["logo"].has_alpha
    planes = cat.still(photos[1])
    assert (planes.width, planes.height) == (45, 31) and planes.a is None


def test_deferred_frames_equal_frames_of_stills_decoded_at_open(tmp_path, monkeypatch):
    folder, _, _ = _photo_draft(tmp_path)
    deferred = [f for _, f in open_draft(folder).frames(format="yuv420p")]
    monkeypatch.setattr(catalog_mod, "defer_still", lambda *a, **k: None)  # decode everything at open
    eager_session = open_draft(folder)
    assert not eager_session.catalog.deferred
    eager = [f for _, f in eager_session.frames(format="yuv420p")]
    assert len(deferred) == len(eager) == eager_session.frame_count
    for n, (a, b) in enumerate(zip(deferred, eager)):
        np.testing.assert_array_equal(a, b, err_msg=f"frame {n}")


def test_the_pool_holds_only_photos_near_the_playhead(tmp_path):
    folder, photos, _ = _photo_draft(tmp_path)
    session = open_draft(folder)
    with session.picture_pool() as pool:
        expected = {
            0: {photos[0]},
            SEG_US - STILL_PREFETCH_US: {photos[0], photos[1]},  # the next one is prefetched
            SEG_US + 10: {photos[1]},
            2 * SEG_US + 10: {photos[2]},
            3 * SEG_US: set(),  # past the end
            10: {photos[0]},  # going back (a reversed compound) decodes it again
        }
        for t_us, want in expected.items():
            pool.advance(t_us)
            assert pool.resident_stills == want, t_us
        pool.advance(2 * SEG_US)
        assert pool.resident_stills == {photos[2]}
    assert pool.resident_stills == frozenset()


def test_a_corrupt_photo_fails_the_render_with_a_typed_error(tmp_path):
    folder, photos, _ = _photo_draft(tmp_path, corrupt=True)
    session = open_draft(folder)  # the header is fine: opening works
    assert photos[2] in session.catalog.deferred
    with pytest.raises(MediaError) as ei:
        session.render(tmp_path / "out.mp4")
    assert ei.value.code == "ASSET_DECODE_FAILED" and ei.value.url == photos[2]


def test_a_changed_file_is_a_typed_error(tmp_path):
    folder, photos, _ = _photo_draft(tmp_path)
    session = open_draft(folder)
    make_image(photos[0], w=10, h=10, color=(1, 2, 3))
    with pytest.raises(MediaError, match="changed since it was opened"):
        session.catalog.still(photos[0])
