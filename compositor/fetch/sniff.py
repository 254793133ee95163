"""What a downloaded material is: its extension from magic bytes, Content-Type or URL, and
the assets folder it belongs in (pure)."""

from __future__ import annotations

import posixpath
from typing import Mapping
from urllib.parse import unquote, urlsplit

#: A draft's material type (or an assets folder name) -> the assets folder.
KIND_HINTS = {
    "video": "videos",
    "videos": "videos",
    "photo": "images",
    "image": "images",
    "images": "images",
    "audio": "audios",
    "audios": "audios",
    "music": "audios",
    "extract_music": "audios",
}

_CT_EXT = {
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "video/x-matroska": ".mkv",
    "video/x-msvideo": ".avi",
    "video/mp2t": ".ts",
    "video/x-flv": ".flv",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/heic": ".heic",
    "image/avif": ".avif",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/aac": ".aac",
    "audio/mp4": ".m4a",
    "audio/x-m4a": ".m4a",
    "audio/ogg": ".ogg",
    "audio/flac": ".flac",
    "audio/x-flac": ".flac",
}

EXT_KIND = {
    ".mp4": "videos",
    ".mov": "videos",
    ".webm": "videos",
    ".mkv": "videos",
    ".avi": "videos",
    ".ts": "videos",
    ".flv": "videos",
    ".m4v": "videos",
    ".png": "images",
    ".jpg": "images",
    ".jpeg": "images",
    ".gif": "images",
    ".webp": "images",
    ".bmp": "images",
    ".tif": "images",
    ".tiff": "images",
    ".heic": "images",
    ".avif": "images",
    ".mp3": "audios",
    ".wav": "audios",
    ".aac": "audios",
    ".m4a": "audios",
    ".ogg": "audios",
    ".flac": "audios",
}


def sniff_ext(head: bytes) -> str | None:
    """File extension from magic bytes, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return ".gif"
    if head[:4] == b"RIFF" and len(head) >= 12:
        return {b"WAVE": ".wav", b"AVI ": ".avi", b"WEBP": ".webp"}.get(head[8:12])
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
            return ".heic"
        if brand in (b"avif", b"avis"):
            return ".avif"
        if brand in (b"M4A ", b"M4B "):
            return ".m4a"
        if brand == b"qt  ":
            return ".mov"
        return ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".webm" if b"webm" in head[:64] else ".mkv"
    if head.startswith(b"FLV"):
        return ".flv"
    if head.startswith(b"ID3"):
        return ".mp3"
    if head.startswith(b"OggS"):
        return ".ogg"
    if head.startswith(b"fLaC"):
        return ".flac"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return ".tif"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        return ".aac" if (head[1] & 0xF6) == 0xF0 else ".mp3"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return ".ts"
    if head.startswith(b"BM") and len(head) >= 14:
        return ".bmp"
    return None


def material_ext(head: bytes, headers: Mapping[str, str], url: str) -> str:
    ext = sniff_ext(head)
    if ext:
        return ext
    ct = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ct in _CT_EXT:
        return _CT_EXT[ct]
    url_ext = posixpath.splitext(unquote(urlsplit(url).path))[1].lower()
    if url_ext in EXT_KIND:
        return ".jpg" if url_ext == ".jpeg" else url_ext
    return ".bin"
