"""Command line (I/O): ``python -m compositor render|probe``.

    python -m compositor render <draft_url | folder | draft_content.json> -o out.mp4
    python -m compositor probe  <draft_url | folder | draft_content.json> [--json]
    python -m compositor render <source> --frames 0:900 -o c0.mp4     # a video-only chunk
    python -m compositor render <source> --audio-only -o audio.m4a    # the whole sound, once
    python -m compositor join c0.mp4 c1.mp4 … --audio audio.m4a -o out.mp4   # stream copy

Exit status 0 on success; on failure one line ``error CODE: reason`` on stderr and
status 1 (bad input) or 2 (usage). Whatever fails — also an unexpected exception or
MemoryError deep inside a library — is that one line (``error RENDER_FAILED: <type>: <msg>``
for exceptions that are not the compositor's own); ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from fractions import Fraction
from pathlib import Path

from .errors import CompositorError
from .pipeline import COMPOSE_NICE, RenderOptions, open_draft
from .timeline import Timeline


def _seconds_to_us(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("time must be >= 0")
    return round(value * 1_000_000)


def _fps(text: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a frame rate: {text!r} (e.g. 30, 30000/1001)") from None
    if value <= 0 or value > 240:
        raise argparse.ArgumentTypeError("frame rate must be in (0, 240]")
    return value


def _frame_range(text: str) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a frame range START:END: {text!r}") from None
    if not 0 <= a < b:
        raise argparse.ArgumentTypeError("want 0 <= START < END")
    return a, b


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m compositor", description="Render JianYing/CapCut drafts (capcut-mate) to MP4."
    )
    p.add_argument("--debug", action="store_true", help="print the traceback of a failure")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="render a draft to MP4")
    r.add_argument("source", help="draft_url (capcut-mate get_draft URL), draft folder or draft_content.json")
    r.add_argument("-o", "--output", required=True, help="output .mp4 path")
    r.add_argument("--width", type=int, help="output width (default: draft canvas)")
    r.add_argument("--height", type=int, help="output height (default: draft canvas)")
    r.add_argument("--fps", type=_fps, help="output frame rate (default: the draft's)")
    r.add_argument("--crf", type=int, default=23, help="x264 CRF quality, 0-51 (default 23)")
    r.add_argument("--preset", default="veryfast", help="x264 preset (default veryfast)")
    r.add_argument("--audio-bitrate", type=int, default=192_000, help="AAC bit rate in bit/s")
    r.add_argument("--start", type=_seconds_to_us, help="render from this timeline time (s)")
    r.add_argument("--end", type=_seconds_to_us, help="render up to this timeline time (s)")
    r.add_argument("--threads", type=int, default=0, help="codec threads (0 = auto)")
    r.add_argument(
        "--compose-nice",
        type=int,
        default=COMPOSE_NICE,
        help=f"composite this many nice steps below the encoder's threads (Linux; 0 = the same; default {COMPOSE_NICE})",
    )
    r.add_argument("--cache-dir", type=Path, help="where downloaded drafts are kept")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    part = r.add_mutually_exclusive_group()
    part.add_argument(
        "--frames",
        type=_frame_range,
        metavar="START:END",
        help="only output frames [START, END), as a video-only chunk for `join`",
    )
    part.add_argument("--audio-only", action="store_true", help="only the timeline's sound (AAC), for `join`")
    r.add_argument(
        "--stats",
        nargs="?",
        const="text",
        choices=("text", "json"),
        help="after rendering, print CPU-seconds and wall seconds per stage (decode per source, composite, "
        "text, audio, encode) as a table, or as one JSON line with --stats json",
    )
    r.add_argument(
        "--sticker-table", type=Path, help="JSON object {sticker resource_id: image path or URL} for JianYing stickers"
    )
    pr = sub.add_parser("probe", help="print the resolved timeline and warnings without rendering")
    pr.add_argument("source")
    pr.add_argument("--cache-dir", type=Path)
    pr.add_argument("--sticker-table", type=Path, help="as for render")
    pr.add_argument(
        "--json",
        action="store_true",
        help="print a JSON summary (canvas, fps, duration, tracks, missing materials, warnings)",
    )
    j = sub.add_parser("join", help="join chunks (render --frames) and audio (--audio-only) by stream copy")
    j.add_argument("chunks", nargs="+", type=Path, help="chunk MP4s in timeline order")
    j.add_argument("--audio", type=Path, help="the audio of render --audio-only")
    j.add_argument("-o", "--output", required=True, type=Path, help="output .mp4 path")
    for cmd in (r, pr, j):
        cmd.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="print the traceback of a failure"
        )
    return p


def describe(tl: Timeline) -> list[str]:
    """Human-readable lines describing a resolved timeline."""
    lines = [
        f"output {tl.width}x{tl.height} @ {float(tl.fps):g} fps ({tl.fps}), "
        f"{tl.frame_count} frames, {tl.output_duration_us / 1e6:.3f} s "
        f"(canvas {tl.canvas_width}x{tl.canvas_height}, draft {tl.duration_us / 1e6:.3f} s)"
    ]
    for track in tl.tracks:
        lines.append(f"visual track z={track.z} ({track.track_id}): {len(track.clips)} clip(s)")
        for c in track.clips:
            kind = "photo" if c.is_still else "video"
            src = "" if c.is_still else f" source {c.source_start_us / 1e6:.3f}s @ {c.speed:g}x"
            name = Path(c.media_key).name
            if getattr(c, "kind", "media") == "text":
                kind, name = "text", repr(c.text.layout.text[:40])
            if c.kind == "compound":
                kind = "compound"
            lines.append(f"  [{c.target_start_us / 1e6:.3f}s, {c.target_end_us / 1e6:.3f}s) {kind}{src} {name}")
            if c.kind == "compound" and c.media_key in tl.compounds:
                lines.extend("    | " + line for line in describe(tl.compounds[c.media_key]))
            if c.keyframes:
                lines.append("    keyframes: " + ", ".join(f"{k}×{len(v)}" for k, v in c.keyframes))
            if c.transition_out:
                t = c.transition_out
                lines.append(f"    transition {t.name} ({t.impl}) [{t.start_us / 1e6:.3f}s, {t.end_us / 1e6:.3f}s)")
            if c.background:
                lines.append(f"    background {c.background.kind}")
            if c.mask is not None:
                lines.append(f"    mask {c.mask.name or c.mask.impl} ({c.mask.impl})")
            if c.mix_mode:
                lines.append(f"    mix mode {c.mix_mode}")
            for f in c.filters:
                lines.append(f"    {f.kind} {f.name} ({f.impl}, strength {f.strength:g})")
    for adj in tl.adjustments:
        lines.append(f"adjustment track z={adj.z} ({adj.track_id}): {len(adj.clips)} item(s)")
        for a in adj.clips:
            lines.append(
                f"  [{a.target_start_us / 1e6:.3f}s, {a.target_end_us / 1e6:.3f}s) {a.spec.kind} "
                f"{a.spec.name} ({a.spec.impl}, strength {a.spec.strength:g})"
            )
    for au in tl.audio_clips:
        lines.append(
            f"audio [{au.target_start_us / 1e6:.3f}s, {au.target_end_us / 1e6:.3f}s) volume {au.volume:g} "
            f"source {au.source_start_us / 1e6:.3f}s {Path(au.media_key).name}"
        )
    return lines


def _options(args) -> RenderOptions:
    return RenderOptions(
        width=args.width,
        height=args.height,
        fps=args.fps,
        start_us=args.start,
        end_us=args.end,
        crf=args.crf,
        preset=args.preset,
        audio_bitrate=args.audio_bitrate,
        threads=args.threads,
        compose_nice=args.compose_nice,
        sticker_table=args.sticker_table,
    )


def _cmd_render(args) -> int:
    from tqdm import tqdm

    session = open_draft(args.source, _options(args), cache_dir=args.cache_dir)
    for w in session.warnings:
        print(f"warning: {w.line()}", file=sys.stderr)
    if args.audio_only:
        session.render_audio(args.output)
        print(f"rendered {args.output}: the sound of {session.frame_count} frames")
        return 0
    frames = range(*args.frames) if args.frames else None
    bar = tqdm(total=len(frames) if frames else session.frame_count, unit="frame", disable=args.quiet, file=sys.stderr)
    try:
        result = session.render(args.output, progress=lambda p: bar.update(p.frames_done - bar.n), frames=frames)
    finally:
        bar.close()
    for w in result.warnings[len(session.timeline.warnings) :]:  # found while compositing
        print(f"warning: {w.line()}", file=sys.stderr)
    print(
        f"rendered {result.output}: {result.frames} frames, {result.duration_us / 1e6:.2f} s of video "
        f"in {result.elapsed_s:.2f} s ({result.realtime_factor:.2f}x realtime), "
        f"{len(result.warnings)} warning(s)"
    )
    if args.stats and result.stages is not None:
        if args.stats == "json":
            print(json.dumps(result.stages.to_dict(), sort_keys=True))
        else:
            for line in result.stages.lines():
                print(line)
    return 0


def _cmd_probe(args) -> int:
    session = open_draft(args.source, RenderOptions(sticker_table=args.sticker_table), cache_dir=args.cache_dir)
    if args.json:
        from .probe import summarize, to_json

        sys.stdout.write(to_json(summarize(session.draft, session.timeline, session.warnings)).decode() + "\n")
        return 0
    for line in describe(session.timeline):
        print(line)
    print(f"{len(session.warnings)} warning(s)")
    for w in session.warnings:
        print(f"warning: {w.line()}")
    return 0


def _cmd_join(args) -> int:
    from .pipeline import join_chunks

    out = join_chunks(args.chunks, args.audio, args.output)
    print(f"joined {len(args.chunks)} chunk(s) into {out}")
    return 0


def _one_line(text: str, limit: int = 2000) -> str:
    """Messages may quote input: line breaks and other unprintable characters escaped
    (``\\n``), so an error stays one line whatever a draft's strings hold; bounded."""
    flat = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text))
    return flat if len(flat) <= limit else flat[:limit] + "…"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "render":
        from .malloc_tuning import fix_mmap_threshold

        fix_mmap_threshold()  # this process only renders: freed frame buffers go back to the OS
    try:
        return {"render": _cmd_render, "probe": _cmd_probe, "join": _cmd_join}[args.command](args)
    except KeyboardInterrupt:
        print("error CANCELLED: interrupted", file=sys.stderr)
        return 130
    except BaseException as exc:  # noqa: BLE001 - every failure is one line (traceback with --debug)
        if isinstance(exc, SystemExit):
            raise
        if args.debug:
            traceback.print_exc(file=sys.stderr)
        if isinstance(exc, CompositorError):
            print(f"error {exc.code}: {_one_line(str(exc))}", file=sys.stderr)
        else:
            print(f"error RENDER_FAILED: {type(exc).__name__}: {_one_line(str(exc))}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
