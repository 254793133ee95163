"""The photo short (fixtures/shorts.py) written with MoviePy 2, as a MoviePy user would (I/O).

    python bench/moviepy_shorts.py DRAFT_FOLDER OUT.mp4 FONT_PATH [SECONDS]

Each photo is loaded and fitted to the 1080×1920 canvas once (``resized``), then zoomed
1.0 → 1.15 per frame (``vfx.Resize`` with a function of t) and panned (a moving position),
cross-faded in over 0.5 s (``vfx.CrossFadeIn``) on top of the previous one; 20
``TextClip`` captions (white, black stroke, the bundled CJK font); music at 0.3 and the
voice in a ``CompositeAudioClip``; ``write_videofile`` with libx264 veryfast crf 23.
MoviePy is a benchmark dependency only (the ``bench`` extra).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from moviepy import AudioFileClip, CompositeAudioClip, CompositeVideoClip, ImageClip, TextClip, vfx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fixtures import shorts  # noqa: E402


def main(folder: Path, out: Path, font: str, seconds: float | None = None) -> None:
    """``seconds``: render only the first seconds (default: the whole short)."""
    d = json.loads((folder / "draft_content.json").read_text("utf-8"))
    W, H = shorts.W, shorts.H
    photo_s = shorts.PHOTO_US / 1e6
    half = shorts.DISSOLVE_US / 2e6
    z0, z1 = shorts.ZOOM
    pan_px = shorts.PAN_X * W / 2
    paths = {m["id"]: m["path"] for m in d["materials"]["videos"]}
    layers = []
    for i, seg in enumerate(d["tracks"][0]["segments"]):
        img = ImageClip(paths[seg["material_id"]])
        scale = min(W / img.w, H / img.h)
        img = img.resized(scale)
        w0, h0 = img.w, img.h
        start = max(0.0, i * photo_s - half)
        dur = photo_s + (half if i else 0) + half
        sign = 1 if i % 2 == 0 else -1

        def zoom(t, lead=i * photo_s - start):
            return z0 + (z1 - z0) * max(0.0, t - lead) / photo_s

        def pos(t, zoom=zoom, sign=sign, w0=w0, h0=h0, lead=i * photo_s - start):
            z = zoom(t)
            return ((W - w0 * z) / 2 + sign * pan_px * max(0.0, t - lead) / photo_s, (H - h0 * z) / 2)

        clip = img.with_effects([vfx.Resize(zoom)]).with_position(pos).with_start(start).with_duration(dur)
        if i:
            clip = clip.with_effects([vfx.CrossFadeIn(2 * half)])
        layers.append(clip)
    texts = {m["id"]: json.loads(m["content"])["text"] for m in d["materials"]["texts"]}
    for seg in d["tracks"][1]["segments"]:
        t0 = seg["target_timerange"]["start"] / 1e6
        dur = seg["target_timerange"]["duration"] / 1e6
        txt = TextClip(
            font=font,
            text=texts[seg["material_id"]],
            font_size=60,
            color="white",
            stroke_color="black",
            stroke_width=4,
            margin=(8, 16),  # room for the stroke and descenders (MoviePy clips them otherwise)
        )
        y = H * (1 - shorts.CAPTION_Y) / 2 - txt.h / 2
        layers.append(txt.with_position(("center", y)).with_start(t0).with_duration(dur))
    seconds = min(seconds or d["duration"] / 1e6, d["duration"] / 1e6)
    audio_paths = {m["id"]: m["path"] for m in d["materials"]["audios"]}
    music = AudioFileClip(audio_paths["mat_music"]).with_volume_scaled(shorts.MUSIC_VOLUME)
    voice = AudioFileClip(audio_paths["mat_voice"])
    video = CompositeVideoClip(layers, size=(W, H), bg_color=(0, 0, 0)).with_duration(seconds)
    video = video.with_audio(CompositeAudioClip([music, voice]).with_duration(seconds))
    video.write_videofile(
        str(out),
        fps=shorts.FPS,
        codec="libx264",
        preset="veryfast",
        ffmpeg_params=["-crf", "23"],
        audio_codec="aac",
        audio_bitrate="192k",
        audio_fps=48000,
        logger=None,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else None)
