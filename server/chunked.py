"""Chunked renders in the service: the plan (pure: ranges, keys, chunk jobs). docs/scale-out.md.

A job whose output is longer than its ``spec.chunk_s`` (the accepting node's
``--chunk-seconds``, stamped at submission) is split into frame ranges:

1. The worker that claims the job (the *coordinator*) downloads and resolves the draft as
   usual; instead of rendering, its worker process answers a typed ``Split`` message with the
   ranges (``server.worker.chunk_steps``, :func:`split_ranges`).
2. The coordinator submits one job of kind ``"chunk"`` per range (:class:`ChunkPart` in the
   spec; idempotency key ``chunk:<parent id>:<index>``, so a re-run parent finds the chunks of
   its earlier attempt and does not duplicate them; completed ones are reused).
3. Any worker's dispatcher claims chunk jobs like other jobs; the coordinator also takes its
   own queued chunks by id (``store.claim_job``) and renders them on its slot. A chunk renders
   ``render_range`` (video only) and is uploaded to ``storage.put_blob("chunks/<parent>/<i>.mp4")``.
   A chunk whose worker dies is failed with retry or, if its node died, re-queued when its
   lease runs out: it alone runs again, on any worker.
4. Meanwhile the coordinator heartbeats the parent with progress = the sum of its chunks' frames,
   and watches for a cancel (it cancels the chunks) or a failed chunk (it cancels the others
   and fails the job with the chunk's error).
5. With every chunk done, the coordinator fetches the blobs (``storage.get_blob``: from the
   bucket with S3 storage, wherever they were rendered); its worker process mixes and encodes
   the whole timeline's audio once, joins by stream copy (``join_chunks``), writes the poster, and the
   parent completes as a normal job. The blobs are deleted.

Chunk jobs render from a private copy of the draft (``work/<chunk id>/cache``): the shared
download cache is locked per draft for a whole render, which would serialise chunks of one draft
on a node. The copy is seeded with hard links of the node's cached copy when there is one (the
coordinator's split step made it), so only a node that never saw the draft downloads it.

Where the rest lives: the worker-process side (split, chunk, join) in
``server.worker.chunk_steps``; the supervisor side (the coordinator on the parent's slot, the
chunk upload, the chunk job's message fields) in ``server.worker.coordinator``; the typed
``JobSpec.mode`` / ``chunk`` / ``chunk_files`` / ``chunk_warnings`` and ``Split`` in
``server.worker.protocol``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import msgspec

from .jobs.model import KIND_CHUNK, ChunkPart, Job, NewJob


def chunk_prefix(parent_id: str) -> str:
    return f"chunks/{parent_id}"


def chunk_key(parent_id: str, index: int) -> str:
    return f"{chunk_prefix(parent_id)}/{index:05d}.mp4"


def idem_key(parent_id: str, index: int) -> str:
    return f"chunk:{parent_id}:{index}"


def split_ranges(frame_count: int, fps: Fraction, chunk_s: float) -> list[tuple[int, int]] | None:
    """The ``[start, end)`` frame ranges of a render split every ``chunk_s`` seconds, or
    ``None`` when it is not split (``chunk_s`` 0, or the output is not longer than one chunk)."""
    from compositor.pipeline import chunk_ranges

    if chunk_s <= 0:
        return None
    per_chunk = max(1, int(Fraction(chunk_s).limit_denominator(1000) * Fraction(fps)))
    if frame_count <= per_chunk:
        return None
    ranges = chunk_ranges(frame_count, per_chunk)
    return ranges if len(ranges) >= 2 else None


def chunk_job(parent: Job, index: int, start_frame: int, end_frame: int) -> NewJob:
    """The chunk job ``index`` of ``parent`` (inline draft bytes are added by the caller)."""
    part = ChunkPart(
        parent_id=parent.id,
        index=index,
        start_frame=start_frame,
        end_frame=end_frame,
        blob_key=chunk_key(parent.id, index),
    )
    return NewJob(
        kind=KIND_CHUNK,
        spec=msgspec.structs.replace(parent.spec, chunk_s=0.0, chunk=part),
        draft_url=parent.draft_url,
        draft_id=parent.draft_id,
        idem_key=idem_key(parent.id, index),
        content_hash=parent.content_hash,
        max_attempts=parent.max_attempts,
        key_id=parent.key_id,
    )


def merge_warnings(*lists: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The warnings of ``lists`` in order, each once."""
    seen: set[bytes] = set()
    out: list[dict[str, Any]] = []
    for warnings in lists:
        for w in warnings:
            key = msgspec.json.encode(w, order="sorted")
            if key not in seen:
                seen.add(key)
                out.append(w)
    return out


__all__ = ["chunk_prefix", "chunk_key", "idem_key", "split_ranges", "chunk_job", "merge_warnings"]
