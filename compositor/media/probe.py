"""Probe a media file: what it is, its display size, rotation, duration, streams (I/O).

Sniffed by content, never by extension:

1. Pillow tries the still formats (PNG, JPEG (incl. MPO), WebP, BMP, GIF, TIFF, AVIF; no
   plug-in that shells out, such as EPS).  One frame → ``kind="image"``.  More than one frame (animated
   GIF / APNG / animated WebP) → ``kind="video"``: GIF and APNG are decoded by PyAV;
   animated WebP by Pillow (``backend="pillow"``) because the FFmpeg 8.1 bundled with
   PyAV 18 has no animated-WebP decoder (``avcodec_send_packet`` → InvalidDataError).
2. Otherwise PyAV (``av.open``).  A visual stream that is only cover art
   (``attached_pic``) does not count as video.

Rotation: PyAV 18 exposes no stream-level side data and FFmpeg 8 no longer exports the
``rotate`` metadata tag, so the first frame is decoded and its ``DISPLAYMATRIX`` side data
read (``VideoFrame.rotation``, counter-clockwise degrees).  ``MediaInfo.rotation`` is the
*clockwise* angle to apply to coded frames, ``(-frame.rotation) mod 360`` snapped to a
multiple of 90 (the old ``rotate=90`` tag of a portrait phone clip → 90).  Mirroring in
the display matrix is ignored.  For stills the EXIF orientation is applied by
:func:`compositor.media.still.load_still`, so stills report ``rotation=0`` and their
display size.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction

import av
from PIL import Image, UnidentifiedImageError

from compositor.errors import MediaError

__all__ = ["MediaInfo", "probe_media", "STILL_FORMATS", "ALPHA_PIX_FMTS"]


#: Pillow plug-ins tried when sniffing, in order (JPEG covers MPO; never EPS & co., which
#: run external programs); AVIF only when this Pillow build has it
def _available_still_formats() -> tuple[str, ...]:
    Image.init()
    return tuple(f for f in ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF", "AVIF") if f in Image.OPEN)


STILL_FORMATS = _available_still_formats()

# frame pixel formats that carry alpha (or transparency, for palettes)
ALPHA_PIX_FMTS = frozenset(
    {
        "yuva420p",
        "yuva422p",
        "yuva444p",
        "yuva420p10le",
        "yuva444p10le",
        "rgba",
        "bgra",
        "argb",
        "abgr",
        "rgba64le",
        "rgba64be",
        "bgra64le",
        "ya8",
        "ya16le",
        "gbrap",
        "gbrap10le",
        "gbrap12le",
        "gbrap16le",
        "pal8",
    }
)

_EXIF_ORIENTATION = 0x0112
_MAX_PROBE_PACKETS = 512


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What :func:`probe_media` found.  Sizes in pixels, times in µs.

    ``width``/``height`` are the DISPLAY size (after rotation / EXIF orientation);
    ``coded_width``/``coded_height`` the size of decoded frames; ``rotation`` the
    clockwise degrees (0/90/180/270) to apply to decoded frames to display them.
    ``has_video`` means VideoReader can read it (an image has ``kind="image"`` and
    ``has_video=False``).  ``backend`` says which library decodes the pictures
    ("av" or "pillow").
    """

    path: str
    kind: str  # "video" | "image" | "audio"
    width: int = 0
    height: int = 0
    coded_width: int = 0
    coded_height: int = 0
    rotation: int = 0
    duration_us: int = 0
    has_video: bool = False
    has_audio: bool = False
    fps: Fraction | None = None
    audio_rate: int = 0
    audio_channels: int = 0
    has_alpha: bool = False
    format_name: str = ""
    backend: str = "av"


def probe_media(path: str | os.PathLike) -> MediaInfo:
    """Probe ``path``; raise :class:`MediaError` (url = path) when nothing can read it."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MediaError("media file not found", path)
    pil = _sniff_pillow(path)
    if pil is not None:
        if pil["frames"] <= 1:
            return _image_info(path, pil)
        if pil["format"] != "WEBP":
            try:
                return _probe_av(path)
            except MediaError:
                pass  # fall back to Pillow for the animation
        return _pillow_anim_info(path, pil)
    return _probe_av(path)


# --------------------------------------------------------------------------- Pillow


def _sniff_pillow(path: str) -> dict | None:
    """Header facts of a still/animation Pillow can open, or None if it is not one."""
    try:
        with Image.open(path, formats=STILL_FORMATS) as im:
            orientation = 1
            try:
                orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
            except Exception:  # broken EXIF never makes an image unreadable
                orientation = 1
            return {
                "format": im.format or "",
                "size": im.size,
                "mode": im.mode,
                "frames": int(getattr(im, "n_frames", 1) or 1),
                "orientation": orientation,
                "transparency": "transparency" in im.info,
            }
    except Image.DecompressionBombError as e:
        raise MediaError(f"image too large ({e})", path) from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


def _image_info(path: str, pil: dict) -> MediaInfo:
    w, h = pil["size"]
    dw, dh = (h, w) if pil["orientation"] in (5, 6, 7, 8) else (w, h)
    mode = pil["mode"]
    alpha = mode in ("RGBA", "RGBa", "LA", "La", "PA") or pil["transparency"]
    return MediaInfo(
        path=path,
        kind="image",
        width=dw,
        height=dh,
        coded_width=w,
        coded_height=h,
        rotation=0,
        duration_us=0,
        has_video=False,
        has_audio=False,
        fps=None,
        has_alpha=bool(alpha),
        format_name=pil["format"],
        backend="pillow",
    )


def pillow_frame_durations_us(im) -> list[int]:
    """Per-frame display durations of an animated Pillow image (µs).

    Missing or ≤ 10 ms delays count as 100 ms, as browsers do.
    """
    out = []
    for i in range(int(getattr(im, "n_frames", 1) or 1)):
        im.seek(i)
        d = im.info.get("duration") or 0
        d = float(d)
        if d <= 10:
            d = 100.0
        out.append(int(round(d * 1000)))
    return out


def _pillow_anim_info(path: str, pil: dict) -> MediaInfo:
    try:
        with Image.open(path, formats=STILL_FORMATS) as im:
            durs = pillow_frame_durations_us(im)
    except Exception as e:
        raise MediaError(f"cannot read animation ({e})", path) from e
    w, h = pil["size"]
    fps = Fraction(1_000_000, durs[0]) if durs and len(set(durs)) == 1 else None
    return MediaInfo(
        path=path,
        kind="video",
        width=w,
        height=h,
        coded_width=w,
        coded_height=h,
        rotation=0,
        duration_us=sum(durs),
        has_video=True,
        has_audio=False,
        fps=fps,
        has_alpha=True,
        format_name=pil["format"],
        backend="pillow",
    )


# --------------------------------------------------------------------------- PyAV


def is_cover_art(stream) -> bool:
    return bool(int(stream.disposition) & int(av.stream.Disposition.attached_pic))


def rotation_cw(frame) -> int:
    """Clockwise degrees (0/90/180/270) to display a frame, from its DISPLAYMATRIX."""
    ccw = frame.rotation or 0
    return int(round(-ccw / 90.0)) % 4 * 90


def _us(value, time_base) -> int | None:
    if value is None or time_base is None:
        return None
    return int(round(value * time_base * 1_000_000))


def _probe_av(path: str) -> MediaInfo:
    try:
        container = av.open(path, metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError) as e:
        raise MediaError(f"not a readable image, video or audio file ({e})", path) from e
    try:
        vstreams = [s for s in container.streams.video if not is_cover_art(s)]
        astreams = list(container.streams.audio)
        if not vstreams and not astreams:
            raise MediaError("no audio or video stream", path)
        fmt_name = container.format.name
        duration_us = container.duration if container.duration and container.duration > 0 else None

        kw: dict = {}
        if astreams:
            acc = astreams[0].codec_context
            kw["audio_rate"] = int(acc.sample_rate or 0)
            kw["audio_channels"] = int(acc.channels or acc.layout.nb_channels or 0)
        if vstreams:
            vs = vstreams[0]
            first = _first_frame(container, vs, path)
            rot = rotation_cw(first)
            cw, ch = first.width, first.height
            w, h = (ch, cw) if rot in (90, 270) else (cw, ch)
            fps = vs.average_rate or vs.guessed_rate or vs.base_rate
            kw.update(
                kind="video",
                width=w,
                height=h,
                coded_width=cw,
                coded_height=ch,
                rotation=rot,
                has_video=True,
                fps=Fraction(fps) if fps else None,
                has_alpha=first.format.name in ALPHA_PIX_FMTS,
            )
            if duration_us is None:
                duration_us = _us(vs.duration, vs.time_base)
        else:
            kw["kind"] = "audio"
            if duration_us is None:
                duration_us = _us(astreams[0].duration, astreams[0].time_base)
        if duration_us is None:
            duration_us = _scan_duration_us(path, vstreams[0].index if vstreams else astreams[0].index)
        return MediaInfo(
            path=path,
            duration_us=int(duration_us or 0),
            has_audio=bool(astreams),
            format_name=fmt_name,
            backend="av",
            **kw,
        )
    finally:
        container.close()


def _first_frame(container, stream, path: str):
    """The first frame the decoder gives. After each packet that gives none the decoder is
    drained: one that holds pictures back for reordering (H.264 with B-frames) hands over
    the first one at once instead of after decoding the next few (~75 ms of CPU per
    high-bit-rate 1080p source). Every frame of a stream has the stream's format, size
    and display matrix, which is all the probe reads."""
    cc = stream.codec_context
    try:
        n = 0
        for packet in container.demux(stream):
            for frame in packet.decode():
                return frame
            if packet.size:
                for frame in cc.decode(None):  # drain
                    return frame
                cc.flush_buffers()  # nothing yet (no picture starts here): decode on
            n += 1
            if n > _MAX_PROBE_PACKETS:
                break
    except (av.FFmpegError, OSError, ValueError) as e:
        raise MediaError(f"cannot decode video ({e})", path) from e
    raise MediaError("no decodable video frame", path)


def _scan_duration_us(path: str, stream_index: int) -> int | None:
    """Duration from packet timestamps (demux only, no decoding), for headerless formats."""
    try:
        with av.open(path, metadata_errors="ignore") as c:
            s = c.streams[stream_index]
            start = s.start_time or 0
            end = None
            for p in c.demux(s):
                if p.pts is None:
                    continue
                e = p.pts + (p.duration or 0)
                end = e if end is None else max(end, e)
            return None if end is None else _us(end - start, s.time_base)
    except (av.FFmpegError, OSError, ValueError):
        return None
