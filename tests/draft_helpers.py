"""Helpers to build drafts and media facts in tests without media files (pure)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from compositor.draft import Draft, parse_draft
from compositor.timeline import MediaFacts

FIXTURE_DRAFTS = Path(__file__).resolve().parent.parent / "fixtures" / "drafts"


def fixture_json(name: str) -> dict:
    return json.loads((FIXTURE_DRAFTS / name / "draft_content.json").read_text("utf-8"))


def facts_from_json(draft: Draft, audio_in_videos: bool = True) -> dict[str, MediaFacts]:
    """MediaFacts as the JSON describes the materials (a stand-in for probing)."""
    out = {}
    for v in draft.materials.videos:
        still = v.type == "photo"
        out[v.id] = MediaFacts(
            path=f"/media/{v.id}",
            kind="image" if still else "video",
            width=v.width,
            height=v.height,
            coded_width=v.width,
            coded_height=v.height,
            duration_us=v.duration,
            has_audio=audio_in_videos and not still,
        )
    for a in draft.materials.audios:
        out[a.id] = MediaFacts(
            path=f"/media/{a.id}",
            kind="audio",
            width=0,
            height=0,
            coded_width=0,
            coded_height=0,
            duration_us=a.duration,
            has_video=False,
            has_audio=True,
        )
    return out


def minimal_draft(*, width=1920, height=1080, fps=30, tracks=(), videos=(), audios=(), **materials) -> dict:
    return {
        "canvas_config": {"width": width, "height": height},
        "fps": fps,
        "duration": max(
            (s["target_timerange"]["start"] + s["target_timerange"]["duration"] for t in tracks for s in t["segments"]),
            default=0,
        ),
        "tracks": list(tracks),
        "materials": {"videos": list(videos), "audios": list(audios), **materials},
    }


def video_material(mid: str, w=1920, h=1080, dur=5_000_000, kind="video") -> dict:
    return {"id": mid, "type": kind, "path": f"/x/{mid}.mp4", "width": w, "height": h, "duration": dur}


def segment(
    sid: str,
    mid: str,
    start: int,
    dur: int,
    *,
    src_start=0,
    speed=1.0,
    clip=None,
    refs=(),
    keyframes=(),
    render_index=1,
    visible=True,
    volume=1.0,
) -> dict:
    return {
        "id": sid,
        "material_id": mid,
        "target_timerange": {"start": start, "duration": dur},
        "source_timerange": {"start": src_start, "duration": round(dur * speed)},
        "speed": speed,
        "volume": volume,
        "visible": visible,
        "extra_material_refs": list(refs),
        "clip": clip
        or {
            "alpha": 1.0,
            "rotation": 0.0,
            "flip": {"horizontal": False, "vertical": False},
            "scale": {"x": 1.0, "y": 1.0},
            "transform": {"x": 0.0, "y": 0.0},
        },
        "uniform_scale": {"on": True, "value": 1.0},
        "common_keyframes": list(keyframes),
        "render_index": render_index,
    }


def kf(prop: str, *points) -> dict:
    return {
        "id": prop,
        "property_type": prop,
        "material_id": "",
        "keyframe_list": [
            {"id": f"{prop}{i}", "time_offset": t, "values": [v], "curveType": "Line"}
            for i, (t, v) in enumerate(points)
        ],
    }


def track(tid: str, kind: str, segments) -> dict:
    return {"id": tid, "type": kind, "name": tid, "attribute": 0, "segments": list(segments)}


def parse(obj: dict) -> Draft:
    return parse_draft(json.dumps(obj).encode())


def clone(obj: dict) -> dict:
    return copy.deepcopy(obj)
