"""The parent ↔ worker-process messages (``server.worker.protocol``): typed Structs in two tagged
unions, msgpack on the pipe; each direction decodes only its own messages."""

from __future__ import annotations

import msgspec
import pytest

from server.jobs.model import RenderSpec
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

TO_CHILD = [Run(JOB), Cancel("j1"), Stop()]
TO_PARENT = [
    Ready(123),
    Phase("j1", "downloading"),
    Start("j1", 90, [{"code": "FONT_FALLBACK", "message": "m"}]),
    Progress("j1", 45, 90, 1.25),
    Heartbeat("j1"),
    Done("j1", JobResult(result={"frames": 90, "elapsed_s": 2.0}, warnings=[], content_hash="ab")),
    Error("j1", "DRAFT_NOT_FOUND", "no such draft", {"url": "http://127.0.0.1:9/x"}),
]


@pytest.mark.parametrize("msg", TO_CHILD, ids=lambda m: type(m).__name__)
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
