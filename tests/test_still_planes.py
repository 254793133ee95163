"""Stills decoded straight to planes (compositor.still_planes) against the RGBA path, and
the pixel gate that bounds how many pixels the catalogue decodes at once."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PIL import Image, ImageOps

from compositor import still_planes as sp
from compositor.errors import MediaError
from compositor.media.still import load_still, to_rgba
from compositor.pixel_gate import PixelGate

ORIENTATIONS = range(1, 9)


def _noise_image(mode: str, w: int, h: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    rgb[: h // 2, : w // 3] = (250, 30, 60)  # a flat corner: orientation mistakes show in it
    return Image.fromarray(rgb).convert(mode)


def _save(im: Image.Image, path, orientation: int = 1, **kw):
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    im.save(path, exif=exif, **kw)
    return path


def _same(got, want):
    for name in ("y", "u", "v", "a", "a_half"):
        g, w = getattr(got, name), getattr(want, name)
        if w is None:
            assert g is None, name
        else:
            np.testing.assert_array_equal(g, w, err_msg=name)


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_load_still_orients_like_exif_transpose(tmp_path, orientation):
    path = _save(_noise_image("RGB", 13, 7), tmp_path / "o.png", orientation)
    with Image.open(path) as im:
        want = to_rgba(ImageOps.exif_transpose(im))
    np.testing.assert_array_equal(load_still(path), want)


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize(("w", "h"), [(13, 7), (10, 9), (1, 5), (6, 1)])
def test_opaque_bands_match_rgba_path(tmp_path, monkeypatch, orientation, w, h):
    monkeypatch.setattr(sp, "BAND_ROWS", 4)  # several bands, the last one short or odd
    path = _save(_noise_image("RGB", w, h), tmp_path / "o.png", orientation)
    got = sp.load_still_planes(path)
    assert got.a is None and got.a_half is None
    assert (got.width, got.height) == ((h, w) if orientation >= 5 else (w, h))
    _same(got, sp.still_planes(load_still(path)))


@pytest.mark.parametrize(("mode", "ext"), [("L", "png"), ("CMYK", "jpg"), ("RGB", "jpg"), ("L", "jpg")])
@pytest.mark.parametrize("orientation", [1, 6, 7])
def test_opaque_modes_match_rgba_path(tmp_path, monkeypatch, mode, ext, orientation):
    monkeypatch.setattr(sp, "BAND_ROWS", 6)
    path = _save(_noise_image(mode, 21, 17), tmp_path / f"m.{ext}", orientation)
    with Image.open(path) as im:
        assert im.mode == mode
    _same(sp.load_still_planes(path), sp.still_planes(load_still(path)))


def test_default_band_rows_is_even_and_a_big_picture_matches(tmp_path):
    assert sp.BAND_ROWS % 2 == 0
    path = _save(_noise_image("RGB", 301, 2 * sp.BAND_ROWS + 3), tmp_path / "big.jpg", 8, quality=90)
    _same(sp.load_still_planes(path), sp.still_planes(load_still(path)))


def test_alpha_images_keep_alpha_and_opaque_rgba_drops_it(tmp_path):
    rgba = np.dstack([np.asarray(_noise_image("RGB", 9, 5)), np.full((5, 9), 255, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "opaque.png")
    got = sp.load_still_planes(tmp_path / "opaque.png")
    assert got.a is None
    _same(got, sp.still_planes(load_still(tmp_path / "opaque.png")))
    rgba[2, 3, 3] = 7
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    got = sp.load_still_planes(tmp_path / "alpha.png")
    assert got.a is not None and got.a[2, 3] == 7
    _same(got, sp.still_planes(load_still(tmp_path / "alpha.png")))


def test_rgb_with_a_transparency_key_keeps_alpha(tmp_path):
    im = Image.new("RGB", (6, 4), (10, 20, 30))
    im.putpixel((1, 1), (1, 2, 3))
    im.save(tmp_path / "key.png", transparency=(1, 2, 3))
    got = sp.load_still_planes(tmp_path / "key.png")
    assert got.a is not None and got.a[1, 1] == 0 and got.a[0, 0] == 255
    _same(got, sp.still_planes(load_still(tmp_path / "key.png")))


def test_errors_are_media_errors_and_size_is_checked_first(tmp_path):
    path = _save(_noise_image("RGB", 40, 30), tmp_path / "p.jpg")
    trunc = tmp_path / "trunc.jpg"
    trunc.write_bytes(path.read_bytes()[:300])
    with pytest.raises(MediaError):
        sp.load_still_planes(trunc)
    sizes = []
    with pytest.raises(MediaError):
        sp.load_still_planes(path, max_pixels=1199, on_size=lambda w, h: sizes.append((w, h)))
    assert sizes == [(40, 30)]
    admitted = []
    sp.load_still_planes(path, admit=lambda px: _record(admitted, px))
    assert admitted == [1200]


class _record:
    def __init__(self, into, px):
        into.append(px)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def test_pixel_gate_bounds_pixels_in_flight():
    gate = PixelGate(10)
    inside = []
    lock = threading.Lock()

    def work(px):
        with gate(px):
            with lock:
                inside.append(gate.admitted_px)
            time.sleep(0.01)

    threads = [threading.Thread(target=work, args=(px,)) for px in (4, 4, 4, 6, 3, 25, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(inside) == 7 and gate.admitted_px == 0
    assert gate.peak_px == 25  # the image over the budget went alone ...
    assert max(v for v in inside if v != 25) <= 10  # ... and the others fit the budget


def test_pixel_gate_rejects_a_useless_budget():
    with pytest.raises(ValueError):
        PixelGate(0)
