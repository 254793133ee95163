"""NicedProducer: items, errors and closing across the thread hop; the producer's priority."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from compositor.niced_producer import NicedProducer, lower_thread_priority

LINUX = sys.platform.startswith("linux")


def _nice_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_items_arrive_in_order_and_the_producer_ends():
    with NicedProducer(lambda: iter(range(50)), nice=0, name="t") as items:
        assert list(items) == list(range(50))
        assert list(items) == []  # exhausted, not blocked


def test_an_exception_of_the_iterator_is_raised_on_the_callers_thread_after_its_items():
    class Boom(RuntimeError):
        pass

    def make():
        yield 1
        yield 2
        raise Boom("at 3")

    got = []
    with NicedProducer(make, nice=0, name="t") as items:
        with pytest.raises(Boom, match="at 3"):
            for x in items:
                got.append(x)
    assert got == [1, 2]


def test_close_stops_the_producer_and_closes_its_iterator_on_the_producer_thread():
    closed_on: list[int] = []
    produced: list[int] = []
    started = threading.get_native_id()

    def make():
        try:
            for i in range(10_000):
                produced.append(i)
                yield i
        finally:
            closed_on.append(threading.get_native_id())

    items = NicedProducer(make, nice=0, name="t", depth=2)
    assert next(items) == 0
    assert next(items) == 1
    items.close()
    assert closed_on and closed_on[0] != started
    assert len(produced) < 100  # the bounded queue held it back
    with pytest.raises(StopIteration):
        next(items)


def test_an_error_in_the_consumer_closes_the_producer():
    closed = threading.Event()

    def make():
        try:
            while True:
                yield 0
        finally:
            closed.set()

    with pytest.raises(KeyError):
        with NicedProducer(make, nice=0, name="t") as items:
            next(items)
            raise KeyError("consumer failed")
    assert closed.is_set()


@pytest.mark.skipif(not LINUX, reason="per-thread nice values are Linux's")
def test_only_the_producer_thread_is_niced_and_threads_it_starts_inherit_it():
    before = _nice_of_this_thread()
    seen: dict[str, int] = {}

    def make():
        seen["producer"] = _nice_of_this_thread()
        child = threading.Thread(target=lambda: seen.__setitem__("child", _nice_of_this_thread()))
        child.start()
        child.join()
        yield 1

    with NicedProducer(make, nice=3, name="t") as items:
        assert list(items) == [1]
    assert seen["producer"] == min(19, before + 3)
    assert seen["child"] == seen["producer"]
    assert _nice_of_this_thread() == before  # the caller's thread is untouched


def test_lower_thread_priority_is_a_no_op_for_zero_and_off_linux(monkeypatch):
    assert lower_thread_priority(0) is False
    assert lower_thread_priority(-5) is False
    monkeypatch.setattr(sys, "platform", "darwin")
    calls = []
    monkeypatch.setattr(os, "setpriority", lambda *a: calls.append(a))
    assert lower_thread_priority(5) is False
    assert calls == []


@pytest.mark.skipif(not LINUX, reason="per-thread nice values are Linux's")
def test_a_refused_setpriority_leaves_the_priority_and_the_render_alone(monkeypatch):
    def refuse(*_):
        raise PermissionError("sandbox")

    monkeypatch.setattr(os, "setpriority", refuse)
    with NicedProducer(lambda: iter([7]), nice=5, name="t") as items:
        assert list(items) == [7]


# -- the render loop ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def captions(tmp_path_factory, media_dir):
    from fixtures.local_draft import materialize

    return materialize("05_captions_zh_styles", tmp_path_factory.mktemp("niced"), media_dir, scale=0.25)


def _video_packets(path) -> list[bytes]:
    import av

    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


@pytest.mark.skipif(not LINUX, reason="per-thread nice values are Linux's")
def test_render_loop_runs_on_a_niced_thread_with_the_same_bytes(captions, tmp_path, monkeypatch):
    from compositor import RenderOptions, open_draft
    from compositor.pixels.compose import Compositor

    composed_at: set[tuple[int, int]] = set()  # (thread id, nice) of every compose call
    real = Compositor.compose

    def spy(self, *a, **kw):
        composed_at.add((threading.get_native_id(), _nice_of_this_thread()))
        return real(self, *a, **kw)

    monkeypatch.setattr(Compositor, "compose", spy)
    before = _nice_of_this_thread()
    outputs = {}
    for nice in (0, 4):
        composed_at.clear()
        opts = RenderOptions(width=160, end_us=500_000, preset="ultrafast", threads=1, compose_nice=nice)
        result = open_draft(captions, opts).render(tmp_path / f"n{nice}.mp4")
        assert result.frames == 15
        ((tid, got),) = composed_at
        assert tid != threading.get_native_id() and got == min(19, before + nice)
        assert result.stages.get("composite").calls == 15
        outputs[nice] = _video_packets(tmp_path / f"n{nice}.mp4")
    assert _nice_of_this_thread() == before
    assert outputs[0] == outputs[4] and len(outputs[0]) == 15
