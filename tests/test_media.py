"""Media I/O layer: probe, stills, VideoReader, AudioReader, Encoder, planes."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from compositor.errors import EncodeError, MediaError
from compositor.media import video_reader as video_reader_mod
from compositor.media.audio_reader import AudioReader
from compositor.media.encoder import QUEUE_BYTES, Encoder
from compositor.media.planes import Planes, half_alpha, planes_of_frame
from compositor.media.probe import probe_media
from compositor.media.still import load_still
from compositor.media.video_reader import VideoReader
from fixtures.media import make_audio, make_image, make_vfr_video, make_video, rgb_to_yuv420, scaled_spec, solid_rgb
from fixtures.media_spec import BLUE, CLOCK_COLORS, GREEN, MEDIA, QUAD, RED, WHITE, YELLOW

from .conftest import MEDIA_SCALE


def yuv_of(rgb) -> tuple[int, int, int]:
    y, u, v = rgb_to_yuv420(solid_rgb(2, 2, tuple(rgb)))
    return int(y[0, 0]), int(u[0, 0]), int(v[0, 0])


def centre_yuv(p: Planes) -> tuple[int, int, int]:
    return (
        int(p.y[p.height // 2, p.width // 2]),
        int(p.u[p.u.shape[0] // 2, p.u.shape[1] // 2]),
        int(p.v[p.v.shape[0] // 2, p.v.shape[1] // 2]),
    )


def assert_colour(p: Planes, rgb, tol: int = 3) -> None:
    got, want = centre_yuv(p), yuv_of(rgb)
    assert max(abs(a - b) for a, b in zip(got, want)) <= tol, f"got YUV {got}, want {want} ({rgb})"


# --------------------------------------------------------------------------- probe


@pytest.mark.parametrize("name", list(MEDIA))
def test_probe_reports_each_fixture(media_dir, name):
    spec = scaled_spec(MEDIA[name], MEDIA_SCALE)
    info = probe_media(media_dir / name)
    assert info.kind == spec["kind"]
    assert info.path == str(media_dir / name)
    if spec["kind"] == "video":
        assert (info.width, info.height) == (spec["w"], spec["h"])
        assert (info.coded_width, info.coded_height) == (spec["w"], spec["h"])
        assert info.rotation == 0 and info.has_video
        assert info.fps == 30
        assert abs(info.duration_us - spec["dur"] * 1e6) <= 50_000
        assert info.has_audio == bool(spec.get("tone") or spec["pattern"] == "clock")
        if info.has_audio:
            assert (info.audio_rate, info.audio_channels) == (48000, 2)
    elif spec["kind"] == "image":
        assert (info.width, info.height) == (spec["w"], spec["h"])
        assert not info.has_video and not info.has_audio and info.duration_us == 0
    else:
        assert info.has_audio and not info.has_video
        assert (info.audio_rate, info.audio_channels) == (spec["rate"], spec["channels"])
        assert abs(info.duration_us - spec["dur"] * 1e6) <= 60_000


def test_probe_sniffs_by_content_not_extension(tmp_path, media_dir):
    disguised = tmp_path / "picture.mp4"
    disguised.write_bytes((media_dir / "quad_1920x1080.png").read_bytes())
    assert probe_media(disguised).kind == "image"
    clip = tmp_path / "clip.png"
    clip.write_bytes((media_dir / "red_1920x1080_5s.mp4").read_bytes())
    assert probe_media(clip).kind == "video"


def test_probe_refuses_garbage_with_the_path(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not media at all" * 100)
    with pytest.raises(MediaError) as ei:
        probe_media(junk)
    assert ei.value.url == str(junk)
    with pytest.raises(MediaError):
        probe_media(tmp_path / "missing.mp4")


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_probe_reports_rotation_metadata(tmp_path, rotate):
    path = make_video(tmp_path / "phone.mp4", w=64, h=32, dur_s=0.2, pattern="quad", rotate=rotate)
    info = probe_media(path)
    assert info.rotation == rotate
    assert (info.coded_width, info.coded_height) == (64, 32)
    assert (info.width, info.height) == ((32, 64) if rotate in (90, 270) else (64, 32))
    with VideoReader(path, info, start_us=0) as r:  # frames stay coded (unrotated)
        assert (r.frame_at(0).width, r.frame_at(0).height) == (64, 32)


def test_probe_animations_count_as_video(tmp_path):
    frames = [Image.new("RGBA", (20, 10), (255 * (i % 2), 0, 255, 255)) for i in range(4)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    frames[0].save(tmp_path / "a.webp", save_all=True, append_images=frames[1:], duration=100, loop=0, lossless=True)
    for name, backend in (("a.gif", "av"), ("a.webp", "pillow")):
        info = probe_media(tmp_path / name)
        assert (info.kind, info.backend, info.has_video) == ("video", backend, True)
        assert abs(info.duration_us - 400_000) <= 1000
        with VideoReader(tmp_path / name, info, start_us=0) as r:
            p0, p1 = r.frame_at(0), r.frame_at(150_000)
            assert p0.a is not None and p0.a_half is not None and int(p0.a.min()) == 255
            assert_colour(p0, (0, 0, 255), tol=4)
            assert_colour(p1, (255, 0, 255), tol=4)
            assert r.frame_at(10_000_000).pts_us == 300_000


def test_generate_caches_by_content_key(tmp_path):
    from fixtures.media import MANIFEST, generate

    names = ["cyan_1000x1000.png", "short_330hz_2s.mp3"]
    first = generate(tmp_path, names, scale=0.1)
    stamps = {n: p.stat().st_mtime_ns for n, p in first.items()}
    again = generate(tmp_path, names, scale=0.1)
    assert {n: p.stat().st_mtime_ns for n, p in again.items()} == stamps  # reused
    assert Image.open(first["cyan_1000x1000.png"]).size == (100, 100)
    generate(tmp_path, ["cyan_1000x1000.png"], scale=0.2)  # another key → rewritten
    assert Image.open(first["cyan_1000x1000.png"]).size == (200, 200)
    import json

    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert set(manifest) == set(names) and manifest["cyan_1000x1000.png"]["scale"] == 0.2


# --------------------------------------------------------------------------- planes


def test_planes_of_frame_are_strided_zero_copy_views():
    frame = av.VideoFrame(100, 51, "yuv420p")
    p = planes_of_frame(frame, 1234, writable=True)
    assert (p.width, p.height, p.pts_us, p.keep) == (100, 51, 1234, frame)
    assert p.u.shape == (26, 50) and p.v.shape == (26, 50)
    assert p.y.strides[0] == frame.planes[0].line_size >= 100
    p.y[...] = 81
    p.u[...] = 90
    p.v[...] = 240
    line = frame.planes[0].line_size
    raw = np.frombuffer(bytes(frame.planes[0]), np.uint8).reshape(51, line)[:, :100]
    assert (raw == 81).all()  # written through the view
    assert (frame.to_ndarray(format="gray")[10, :100] > 0).all()
    ro = planes_of_frame(frame, 0)
    assert not ro.y.flags.writeable
    c = ro.copy()
    assert c.y.flags.c_contiguous and c.keep is None and (c.y == 81).all()


def test_half_alpha_averages_blocks_and_odd_edges():
    a = np.array([[0, 255, 10], [255, 255, 20], [7, 9, 30]], np.uint8)
    assert half_alpha(a).tolist() == [[191, 15], [8, 30]]


# --------------------------------------------------------------------------- VideoReader


def test_video_reader_hold_rule(media_dir):
    path = media_dir / "clock_1920x1080_8s.mp4"
    info = probe_media(path)
    with VideoReader(path, info, start_us=0) as r:
        assert r.frame_at(-5_000).pts_us == 0  # before the first frame → first frame
        assert_colour(r.frame_at(0), CLOCK_COLORS[0])
        assert r.frame_at(33_333).pts_us == 33_333  # exact pts of frame 1
        assert r.frame_at(50_000).pts_us == 33_333  # between pts → the earlier frame
        f = r.frame_at(1_000_000)
        assert f.pts_us == 1_000_000
        assert_colour(f, CLOCK_COLORS[1])
        assert r.frame_at(1_999_999).pts_us == 1_966_666
        assert_colour(r.frame_at(2_500_000), CLOCK_COLORS[2])
        last = r.frame_at(7_999_999)
        assert last.pts_us == 7_966_666
        for t in (8_000_000, 9_000_000, 60_000_000):  # after the last → last, forever
            assert r.frame_at(t).pts_us == 7_966_666
        assert_colour(r.frame_at(60_000_000), CLOCK_COLORS[7])
        again = r.frame_at(1_000_000)  # back after the end of the stream: re-seek, decode again
        assert again.pts_us == 1_000_000
        assert_colour(again, CLOCK_COLORS[1])


def test_video_reader_start_us_and_seeks(media_dir):
    path = media_dir / "clock_1920x1080_8s.mp4"
    info = probe_media(path)
    with VideoReader(path, info, start_us=3_500_000) as r:
        assert r.seek_count == 1
        f = r.frame_at(3_500_000)
        assert f.pts_us == 3_500_000
        assert_colour(f, CLOCK_COLORS[3])
        assert r.frame_at(3_600_000).pts_us == 3_600_000
        assert r.seek_count == 1  # small forward steps decode on
        back = r.frame_at(1_250_000)  # backward jump → re-seek
        assert r.seek_count == 2
        assert back.pts_us == 1_233_333
        assert_colour(back, CLOCK_COLORS[1])
        fwd = r.frame_at(6_500_000)  # forward jump > 2 s (1 s GOP) → re-seek
        assert r.seek_count == 3
        assert_colour(fwd, CLOCK_COLORS[6])
        assert r.frame_at(0).pts_us == 0
        assert r.seek_count == 4
        assert r.frame_at(-1).pts_us == 0  # before the first frame: no more seeking
        assert r.seek_count == 4


def test_video_reader_vfr_source_stays_in_sync(tmp_path):
    pts_ms = [0, 10, 50, 200, 210, 1000, 1033]
    path = make_vfr_video(tmp_path / "vfr.mp4", w=64, h=48, pts_ms=pts_ms, end_ms=1100)
    info = probe_media(path)
    levels = [yuv_of((min(255, 20 + 10 * i),) * 3)[0] for i in range(len(pts_ms))]
    with VideoReader(path, info, start_us=0) as r:
        for t_us in [
            0,
            9_999,
            10_000,
            49_999,
            50_000,
            199_000,
            205_000,
            210_000,
            999_999,
            1_000_000,
            1_040_000,
            3_000_000,
        ]:
            want = max(i for i, p in enumerate(pts_ms) if p * 1000 <= t_us)
            f = r.frame_at(t_us)
            assert f.pts_us == pts_ms[want] * 1000, t_us
            assert abs(int(f.y[24, 32]) - levels[want]) <= 2, t_us


def test_video_reader_passes_bt709_yuv420p_through_without_copy(media_dir):
    path = media_dir / "quad_1920x1080_6s.mp4"
    info = probe_media(path)
    with VideoReader(path, info, start_us=0) as r:
        p = r.frame_at(1_000_000)
        assert isinstance(p.keep, av.VideoFrame) and p.keep.format.name == "yuv420p"
        assert np.shares_memory(p.y, np.frombuffer(p.keep.planes[0], np.uint8))
        assert not p.y.flags.writeable
        h, w = p.height, p.width
        for (yy, xx), key in (
            ((h // 4, w // 4), "TL"),
            ((h // 4, 3 * w // 4), "TR"),
            ((3 * h // 4, w // 4), "BL"),
            ((3 * h // 4, 3 * w // 4), "BR"),
        ):
            want = yuv_of(QUAD[key])
            got = (int(p.y[yy, xx]), int(p.u[yy // 2, xx // 2]), int(p.v[yy // 2, xx // 2]))
            assert max(abs(a - b) for a, b in zip(got, want)) <= 3, key


def test_video_reader_converts_other_colour_spaces(tmp_path):
    """A BT.601-tagged, full-range (yuvj420p) SD source arrives as BT.709 limited range."""
    path = tmp_path / "sd601.mp4"
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[...] = RED
    with av.open(str(path), "w", format="mp4") as out:
        s = out.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 64, 48, "yuvj420p"
        s.codec_context.colorspace = 6  # SMPTE170M (BT.601)
        s.codec_context.color_range = 2  # full
        src = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        for i in range(3):
            f = src.reformat(format="yuvj420p", dst_colorspace="ITU601", dst_color_range="JPEG")
            f.pts = i
            out.mux(s.encode(f))
        out.mux(s.encode(None))
    info = probe_media(path)
    with VideoReader(path, info, start_us=0) as r:
        p = r.frame_at(0)
        assert p.keep.format.name == "yuv420p"
        assert_colour(p, RED, tol=4)


def test_video_reader_surfaces_decode_errors(media_dir, monkeypatch):
    path = media_dir / "red_1920x1080_5s.mp4"
    info = probe_media(path)

    def broken(frame, pts_us, rf=None):
        raise av.InvalidDataError(1094995529, "boom")

    monkeypatch.setattr(video_reader_mod, "frame_to_planes", broken)
    r = VideoReader(path, info, start_us=0)
    try:
        with pytest.raises(MediaError) as ei:
            r.frame_at(0)
        assert ei.value.url == str(path)
        assert isinstance(ei.value.__cause__, av.FFmpegError)
        with pytest.raises(MediaError):
            r.frame_at(0)  # stays failed
    finally:
        r.close()


def test_video_reader_close_is_prompt_with_full_queue(media_dir):
    path = media_dir / "red_1920x1080_5s.mp4"
    r = VideoReader(path, probe_media(path), start_us=0, read_ahead=2)
    r.frame_at(0)
    worker = r._worker
    r.close()
    assert not worker.is_alive()
    with pytest.raises(MediaError):
        r.frame_at(0)


# --------------------------------------------------------------------------- stills


def test_load_still_png_and_jpg(media_dir):
    q = load_still(media_dir / "quad_1920x1080.png")
    h, w = q.shape[:2]
    assert q.dtype == np.uint8 and q.shape == (135 * 2, 240 * 2, 4) and q.flags.c_contiguous
    assert tuple(q[h // 4, w // 4]) == (*RED, 255) and tuple(q[3 * h // 4, 3 * w // 4]) == (*WHITE, 255)
    o = load_still(media_dir / "orange_1920x1080.jpg")
    assert np.abs(o[10, 10, :3].astype(int) - (255, 128, 0)).max() <= 3 and o[10, 10, 3] == 255


def test_load_still_applies_exif_orientation(tmp_path):
    path = make_image(tmp_path / "phone.jpg", w=64, h=32, pattern="quad", exif_orientation=6)
    info = probe_media(path)
    assert (info.width, info.height, info.coded_width, info.coded_height) == (32, 64, 64, 32)
    assert info.rotation == 0  # already applied by load_still
    img = load_still(path)
    assert img.shape == (64, 32, 4)

    def near(px, rgb):
        return np.abs(px[:3].astype(int) - rgb).max() <= 8

    # orientation 6 = rotate 90° clockwise for display: TL←BL, TR←TL, BR←TR, BL←BR
    assert near(img[8, 8], BLUE) and near(img[8, 24], RED)
    assert near(img[56, 24], GREEN) and near(img[56, 8], WHITE)


def test_load_still_palette_with_transparency(tmp_path):
    im = Image.new("P", (8, 4), 0)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * (256 * 3 - 6))
    im.paste(1, (4, 0, 8, 4))
    im.info["transparency"] = 1
    im.save(tmp_path / "pal.png", transparency=1)
    assert probe_media(tmp_path / "pal.png").has_alpha
    rgba = load_still(tmp_path / "pal.png")
    assert tuple(rgba[0, 0]) == (255, 0, 0, 255)
    assert rgba[0, 5, 3] == 0


def test_load_still_modes(tmp_path):
    g16 = np.full((4, 6), 32768, np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    assert tuple(load_still(tmp_path / "g16.png")[0, 0]) == (128, 128, 128, 255)  # scaled, not clipped
    Image.new("LA", (4, 4), (200, 100)).save(tmp_path / "la.png")
    assert tuple(load_still(tmp_path / "la.png")[1, 1]) == (200, 200, 200, 100)
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=100)
    px = load_still(tmp_path / "cmyk.jpg")[4, 4]
    assert px[0] > 230 and px[1] < 25 and px[2] < 25 and px[3] == 255


def test_load_still_pixel_limit_is_per_call(tmp_path):
    path = make_image(tmp_path / "big.png", w=200, h=100, color=YELLOW)
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(MediaError) as ei:
        load_still(path, max_pixels=19_999)
    assert ei.value.url == str(path)
    assert load_still(path, max_pixels=20_000).shape == (100, 200, 4)
    assert Image.MAX_IMAGE_PIXELS == before


def test_load_still_refuses_non_images(tmp_path, media_dir):
    with pytest.raises(MediaError):
        load_still(media_dir / "beep_1000hz_3s.wav")
    trunc = tmp_path / "trunc.png"
    trunc.write_bytes((media_dir / "quad_1920x1080.png").read_bytes()[:200])
    with pytest.raises(MediaError):
        load_still(trunc)


# --------------------------------------------------------------------------- AudioReader


def _click(n: int, at: int) -> np.ndarray:
    x = np.zeros(n)
    x[at] = 0.9
    return x


@pytest.mark.parametrize("start_us", [0, 100_000, 600_000, 624_979, 625_000])
def test_audio_reader_start_is_sample_accurate(tmp_path, start_us):
    path = make_audio(tmp_path / "click.wav", samples=_click(48_000, 30_000), rate=48_000, channels=1)
    with AudioReader(path, start_us=start_us) as r:
        y = r.read(48_000)
    assert y.shape == (2, 48_000) and y.dtype == np.float32
    want = 30_000 - round(start_us * 48_000 / 1_000_000)
    assert int(np.argmax(np.abs(y[0]))) == want
    assert abs(y[0, want] - 0.9) < 1e-3 and y[1, want] == y[0, want]


def test_audio_reader_resamples_with_the_click_in_place(tmp_path):
    x = _click(44_100, 30_000)
    path = make_audio(tmp_path / "click44.wav", samples=np.stack([x, x]), rate=44_100, channels=2)
    with AudioReader(path, start_us=500_000) as r:
        y = np.concatenate([r.read(1000), r.read(47_000)], axis=1)  # block size is free
    want = 30_000 * 48_000 / 44_100 - 24_000
    assert abs(int(np.argmax(np.abs(y[0]))) - want) <= 1


def test_audio_reader_mono_upmix_keeps_level_and_zeros_after_end(media_dir):
    with AudioReader(media_dir / "beep_1000hz_3s.wav", start_us=1_000_000) as r:
        body = r.read(48_000)
        tail = r.read(96_000)
        after = r.read(10)
    assert np.abs(np.abs(body).max(axis=1) - 0.5).max() < 0.01  # not −3 dB
    assert np.array_equal(body[0], body[1])
    assert np.abs(tail[:, 48_000:]).max() == 0.0 and np.abs(tail[:, :47_000]).max() > 0.4
    assert after.shape == (2, 10) and not after.any()


def test_audio_reader_lossy_sources_are_in_phase(media_dir):
    cases = [("red_1920x1080_5s.mp4", 440, 2_000_000, 0.01), ("bgm_220hz_10s.mp3", 220, 5_000_000, 0.03)]
    for name, hz, start_us, tol in cases:
        with AudioReader(media_dir / name, start_us=start_us) as r:
            y = r.read(4800)
        t = start_us / 1e6 + np.arange(4800) / 48_000
        assert np.abs(y[0] - 0.5 * np.sin(2 * np.pi * hz * t)).max() < tol, name


def test_audio_reader_without_audio_stream(media_dir):
    path = media_dir / "yellow_1920x1080_4s_noaudio.mp4"
    assert not probe_media(path).has_audio
    with pytest.raises(MediaError) as ei:
        AudioReader(path, start_us=0)
    assert ei.value.url == str(path)


# --------------------------------------------------------------------------- Encoder


def test_encoder_round_trip(tmp_path):
    path = tmp_path / "out.mp4"
    colours = [RED, GREEN, BLUE, YELLOW, (128, 128, 128)]
    enc = Encoder(path, width=160, height=90, fps=Fraction(30), crf=18)
    total = 48_000
    sizes = [777, 5000, 1024, 13, 20_000]
    sent = 0
    for i in range(30):
        frame, p = enc.new_frame()
        assert p.y.flags.writeable and (p.width, p.height) == (160, 90)
        y, u, v = rgb_to_yuv420(solid_rgb(160, 90, colours[i // 6]))
        p.y[...] = y
        p.u[...] = u
        p.v[...] = v
        enc.submit_video(frame, i)
        if i % 5 == 0 and sent < total:  # odd block sizes: the encoder re-chunks
            n = min(sizes[(i // 5) % len(sizes)], total - sent) if i < 25 else total - sent
            t = (sent + np.arange(n)) / 48_000
            enc.submit_audio(np.stack([0.5 * np.sin(2 * np.pi * 1000 * t)] * 2))
            sent += n
    enc.close()

    data = path.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")  # +faststart
    with av.open(str(path)) as c:
        assert abs(c.duration / 1e6 - 1.0) < 0.05
        vs = c.streams.video[0]
        assert (vs.codec_context.name, vs.codec_context.width, vs.codec_context.height) == ("h264", 160, 90)
        frames = list(c.decode(vs))
    assert len(frames) == 30
    f0 = frames[0]
    assert (f0.format.name, f0.colorspace, f0.color_primaries, f0.color_trc, f0.color_range) == ("yuv420p", 1, 1, 1, 1)
    for i, f in enumerate(frames):
        assert f.pts * f.time_base == Fraction(i, 30)
        rgb = f.to_ndarray(format="rgb24")[45, 80].astype(int)
        assert np.abs(rgb - colours[i // 6]).max() <= 3, (i, rgb)
    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        assert (a.codec_context.name, a.codec_context.sample_rate, a.codec_context.channels) == ("aac", 48000, 2)
        pcm = np.concatenate([fr.to_ndarray() for fr in c.decode(a)], axis=1)
    assert pcm.shape[1] >= 48_000
    mid = pcm[:, 4800:43_200]
    rms = np.sqrt((mid.astype(np.float64) ** 2).mean(axis=1))
    assert np.abs(rms - 0.5 / np.sqrt(2)).max() < 0.01
    t = np.arange(4800, 43_200) / 48_000
    assert np.abs(mid[0] - 0.5 * np.sin(2 * np.pi * 1000 * t)).max() < 0.05  # in phase, no drift


def test_encoder_validates_submissions(tmp_path):
    enc = Encoder(tmp_path / "e.mp4", width=64, height=36, fps=Fraction(25), audio=False)
    with pytest.raises(EncodeError):
        enc.submit_audio(np.zeros((2, 10), np.float32))  # no audio stream
    with pytest.raises(EncodeError):
        enc.submit_video(av.VideoFrame(32, 18, "yuv420p"), 0)  # wrong size
    for i in (0, 1):
        frame, p = enc.new_frame()
        p.y[...], p.u[...], p.v[...] = 16, 128, 128
        enc.submit_video(frame, i)
    with pytest.raises(EncodeError):
        enc.submit_video(enc.new_frame()[0], 1)  # index must increase
    enc.close()
    enc.close()  # idempotent
    with av.open(str(tmp_path / "e.mp4")) as c:
        assert len(list(c.decode(video=0))) == 2 and not c.streams.audio
    with pytest.raises(EncodeError):
        Encoder(tmp_path / "odd.mp4", width=63, height=36, fps=Fraction(25))


@pytest.mark.parametrize(
    ("width", "height", "pictures"), [(64, 36, 8), (1920, 1080, 4), (1080, 1920, 4), (3840, 2160, 2)]
)
def test_encoder_queue_holds_a_byte_budget_of_pictures(tmp_path, width, height, pictures):
    """QUEUE_BYTES (12 MiB) of pictures, at least 2 and at most 8, each with room for its audio block."""
    assert QUEUE_BYTES == 12 * 1024 * 1024  # the table above is worked out for this budget
    enc = Encoder(tmp_path / "q.mp4", width=width, height=height, fps=Fraction(30), audio=False)
    try:
        assert enc._q.maxsize == 2 * pictures
    finally:
        enc.abort()
    explicit = Encoder(tmp_path / "e.mp4", width=width, height=height, fps=Fraction(30), queue_frames=1)
    try:
        assert explicit._q.maxsize == 2
    finally:
        explicit.abort()


def test_encoder_surfaces_thread_errors(tmp_path):
    enc = Encoder(tmp_path / "e.mp4", width=64, height=36, fps=Fraction(25))

    def boom(frame, index):
        raise RuntimeError("encoder exploded")

    enc._encode_video = boom  # the thread looks the method up per frame
    enc.submit_video(enc.new_frame()[0], 7)
    with pytest.raises(EncodeError) as ei:
        for i in range(8, 100):
            enc.submit_video(enc.new_frame()[0], i)
        enc.close()
    assert ei.value.frame_index == 7
    assert isinstance(ei.value.__cause__, RuntimeError)
    enc.abort()
    assert not (tmp_path / "e.mp4").exists()


def test_encoder_abort_deletes_the_partial_file(tmp_path):
    path = tmp_path / "partial.mp4"
    enc = Encoder(path, width=64, height=36, fps=Fraction(30000, 1001))
    for i in range(5):
        frame, p = enc.new_frame()
        p.y[...] = 16
        p.u[...] = 128
        p.v[...] = 128
        enc.submit_video(frame, i)
    enc.submit_audio(np.zeros((2, 3000), np.float32))
    enc.abort()
    assert not path.exists()
    with pytest.raises(EncodeError):
        enc.submit_video(enc.new_frame()[0], 10)
