"""Join video chunks and one audio track by stream copy (I/O: PyAV remux, no re-encode).

Chunks come from :func:`compositor.pipeline.render_range`: video-only H.264 MP4s with the
same encoder settings, each opening on an IDR frame with closed GOPs and timestamps from 0.
Each chunk's packets are copied with ``pts``/``dts`` shifted by the running offset (the
summed durations of the chunks before it), so the joined video is one continuous timeline:
x264 gives every chunk the same B-frame delay, hence the first ``dts`` of chunk k+1 follows
the last ``dts`` of chunk k by one frame. Audio packets are copied unchanged (the audio was
encoded once for the whole timeline) and interleaved with the video by time. The output is
written with ``+faststart`` (the moov is moved to the front in a second pass: the join reads
the chunks once and writes the output twice).

Refused (:class:`EncodeError`): no chunks, a chunk without exactly one video stream, chunks
whose codec parameters (size, profile, SPS/PPS) differ, a chunk that does not start on a
keyframe, or a seam where decode timestamps would not increase.
"""

from __future__ import annotations

import heapq
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av

from compositor.errors import EncodeError

__all__ = ["join_streams"]


def _video_packets(
    chunks: list[Path], out_stream, first_extradata: bytes | None
) -> Iterator[tuple[Fraction, av.Packet]]:
    offset = 0  # in the chunks' stream time base
    last_dts: int | None = None
    time_base: Fraction | None = None
    for index, path in enumerate(chunks):
        with av.open(str(path)) as container:
            if len(container.streams.video) != 1:
                raise EncodeError(
                    f"chunk {index} ({path.name}) has {len(container.streams.video)} video streams, want 1"
                )
            stream = container.streams.video[0]
            if stream.time_base is None:
                raise EncodeError(f"chunk {index} ({path.name}) has no time base")
            if time_base is None:
                time_base = stream.time_base
            elif stream.time_base != time_base:
                raise EncodeError(f"chunk {index} ({path.name}) has time base {stream.time_base}, not {time_base}")
            if stream.codec_context.extradata != first_extradata:
                raise EncodeError(f"chunk {index} ({path.name}) was encoded with other settings (SPS/PPS differ)")
            chunk_start: int | None = None
            chunk_end = 0
            first = True
            for packet in container.demux(stream):
                if packet.size == 0:  # the demuxer's end-of-stream marker
                    continue
                if first and not packet.is_keyframe:
                    raise EncodeError(f"chunk {index} ({path.name}) does not start on a keyframe")
                first = False
                if packet.pts is None or packet.dts is None:
                    raise EncodeError(f"chunk {index} ({path.name}) has a packet without timestamps")
                if chunk_start is None:
                    chunk_start = packet.pts
                chunk_start = min(chunk_start, packet.pts)
                chunk_end = max(chunk_end, packet.pts + (packet.duration or 0))
                # pts of the first frame are 0 in every chunk: the offset puts it after the
                # previous chunk's last frame
                packet.pts += offset
                packet.dts += offset
                if last_dts is not None and packet.dts <= last_dts:
                    raise EncodeError(
                        f"chunk {index} ({path.name}): decode time {packet.dts} does not follow {last_dts}"
                    )
                last_dts = packet.dts
                packet.stream = out_stream
                yield Fraction(packet.dts) * time_base, packet
            if chunk_start is None:
                raise EncodeError(f"chunk {index} ({path.name}) holds no video packets")
            offset += chunk_end - chunk_start


def _audio_packets(path: Path, out_stream) -> Iterator[tuple[Fraction, av.Packet]]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        time_base = stream.time_base or Fraction(1, stream.rate or 48000)
        for packet in container.demux(stream):
            if packet.size == 0 or packet.dts is None:
                continue
            packet.stream = out_stream
            yield Fraction(packet.dts) * time_base, packet


def join_streams(chunks: list[Path], audio: Path | None, out_path: str) -> None:
    """Write ``out_path`` (MP4, faststart): the chunks' video back to back, then ``audio``'s track."""
    if not chunks:
        raise EncodeError("nothing to join: no chunks")
    try:
        with av.open(str(chunks[0])) as first:
            if len(first.streams.video) != 1:
                raise EncodeError(f"chunk 0 ({chunks[0].name}) has no single video stream")
            out = av.open(out_path, "w", format="mp4", options={"movflags": "+faststart"})
            try:
                vin = first.streams.video[0]
                extradata = vin.codec_context.extradata
                vout = out.add_stream_from_template(vin)
                vout.time_base = vin.time_base
                streams = [_video_packets(chunks, vout, extradata)]
                acontainer = None
                if audio is not None:
                    acontainer = av.open(str(audio))
                    if not acontainer.streams.audio:
                        raise EncodeError(f"{audio.name} has no audio stream")
                    ain = acontainer.streams.audio[0]
                    aout = out.add_stream_from_template(ain)
                    aout.time_base = ain.time_base
                    acontainer.close()
                    streams.append(_audio_packets(audio, aout))
                for _, packet in heapq.merge(*streams, key=lambda item: item[0]):
                    out.mux(packet)
            finally:
                out.close()
    except av.FFmpegError as e:
        raise EncodeError(f"joining chunks failed: {e}") from e
