"""The parent ↔ worker-process messages (``server.worker.protocol``): typed Structs in two tagged
unions, msgpack on the pipe; each direction decodes only its own messages."""

from __future__ import annotations

import msgspec
import pytest

from server.jobs.model import ChunkPart, RenderSpec
from server.settings import Settings
from server.egress import egress_spec
from server.worker.protocol import (
    Cancel,
    Codec,
    Done,
    EgressSpec,
    Error,
    Heartbeat,
    JobResult,
    JobSpec,
    Phase,
    Progress,
    Ready,
    Run,
    Split,
    SplitPlan,
    Start,
    Stop,
)

JOB = JobSpec(
    job_id="j1",
    spec=RenderSpec(width=320, fps="30000/1001", crf=30, preset="ultrafast", threads=1),
    draft_url="http://127.0.0.1:9/get_draft?draft_id=d1",
    draft_id="d1",
    inline_draft=b'{"tracks": []}',
    output="/data/videos/j1.mp4",
    poster="/data/videos/j1.jpg",
    cache_dir="/data/cache/k",
    work_dir="/data/work/j1",
    egress=msgspec.convert(egress_spec(Settings(url_allowlist=("127.0.0.1",))), EgressSpec),
    heartbeat_s=0.5,
    limits={"max_side_px": 4096},
)

PART = ChunkPart(parent_id="p1", index=1, start_frame=30, end_frame=60, blob_key="chunks/p1/00001.mp4")
CHUNK_JOB = msgspec.structs.replace(JOB, mode="chunk", chunk=PART)
FINISH_JOB = msgspec.structs.replace(
    JOB, mode="finish", chunk_files=["/data/work/j1/chunks/00000.mp4"], chunk_warnings=[{"kind": "font"}]
)

TO_CHILD = [Run(JOB), Run(CHUNK_JOB), Run(FINISH_JOB), Cancel("j1"), Stop()]
TO_PARENT = [
    Ready(123),
    Phase("j1", "downloading"),
    Start("j1", 90, [{"code": "FONT_FALLBACK", "message": "m"}]),
    Progress("j1", 45, 90, 1.25),
    Heartbeat("j1"),
    Done("j1", JobResult(result={"frames": 90, "elapsed_s": 2.0}, warnings=[], content_hash="ab")),
    Error("j1", "DRAFT_NOT_FOUND", "no such draft", {"url": "http://127.0.0.1:9/x"}),
    Split("j1", SplitPlan(frames_total=90, ranges=[(0, 30), (30, 90)], warnings=[], content_hash="ab")),
]


@pytest.mark.parametrize("msg", TO_CHILD, ids=lambda m: type(m).__name__ + getattr(getattr(m, "job", None), "mode", ""))
def test_parent_to_child_round_trip(msg):
    codec = Codec()
    assert codec.decode_to_child(codec.encode(msg)) == msg


@pytest.mark.parametrize("msg", TO_PARENT, ids=lambda m: type(m).__name__)
def test_child_to_parent_round_trip(msg):
    codec = Codec()
    assert codec.decode_to_parent(codec.encode(msg)) == msg


def test_messages_are_tagged_and_each_direction_refuses_the_other():
    codec = Codec()
    assert msgspec.msgpack.decode(codec.encode(Cancel("j1"))) == {"type": "Cancel", "job_id": "j1"}
    with pytest.raises(msgspec.ValidationError):
        codec.decode_to_parent(codec.encode(Run(JOB)))
    with pytest.raises(msgspec.ValidationError):
        codec.decode_to_child(codec.encode(Ready(1)))
    with pytest.raises(msgspec.DecodeError):  # a pickle is not a message
        codec.decode_to_child(b"\x80\x04K\x01.")


def test_the_job_body_takes_the_dict_form_of_a_job():
    as_dict = msgspec.to_builtins(JOB)
    assert msgspec.convert(as_dict, JobSpec) == JOB


def test_the_egress_spec_crosses_the_pipe_without_losing_a_field():
    """Every field ``server.egress.egress_spec`` writes (the storage endpoint's deny list
    included) has a place in ``EgressSpec``: msgspec would drop an unknown one silently."""
    settings = Settings(
        url_allowlist=("127.0.0.1",), storage="s3://bucket/renders", s3_endpoint_url="http://127.0.0.5:9000"
    )
    sent = egress_spec(settings)
    assert sent["denylist"]
    assert msgspec.structs.asdict(msgspec.convert(sent, EgressSpec)) == sent


def test_a_job_mode_outside_the_three_is_refused():
    codec = Codec()
    raw = msgspec.msgpack.encode({**msgspec.to_builtins(Run(JOB)), "job": {**msgspec.to_builtins(JOB), "mode": "x"}})
    with pytest.raises(msgspec.ValidationError):
        codec.decode_to_child(raw)
