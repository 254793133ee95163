"""Fuzzing ``draft_content.json`` through ``python -m compositor probe``.

Each example writes a mutated fixture draft (tests/fuzz_strategies.py) into a draft folder
whose media are the tiny generated files of fixtures/media.py, and runs the CLI's ``probe``
in-process: parse, probe the media, resolve the timeline, describe it. The invariants, and
only those (whether a given malformed value is an error or a warning is other tests' job):

* the CLI returns 0, or 1 with exactly one ``error CODE: reason`` line on stderr — never a
  traceback: every failure is a :class:`CompositorError` whose code is a known one;
* it finishes (a per-example guard fails the example if the probe hangs).

``FUZZ_EXAMPLES`` (default 1000) and ``FUZZ_RANDOM=1`` (new examples every run instead of
the fixed derandomized sequence) widen a local run.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings

from compositor import cli
from compositor.errors import CompositorError
from fixtures import local_draft as fixture_folders
from tests.conftest import MEDIA_SCALE
from tests.fuzz_strategies import fixture_names, mutated_fixtures

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1000"))
DERANDOMIZE = os.environ.get("FUZZ_RANDOM") != "1"
#: one probe of a fixture takes ~10–30 ms; a probe still running after this is a hang
HANG_GUARD_S = 60.0

FIRST = "01_single_video_1080p"

_ERROR_LINE = re.compile(r"^error (?P<code>[A-Z_]+): .+$")


def known_codes() -> set[str]:
    """The ``code`` of every CompositorError class (new classes count automatically)."""
    seen, todo = set(), [CompositorError]
    while todo:
        cls = todo.pop()
        seen.add(cls.code)
        todo.extend(cls.__subclasses__())
    return seen


@pytest.fixture(scope="module")
def draft_folders(tmp_path_factory, media_dir) -> dict[str, Path]:
    """Every fixture draft laid out as a folder with its (tiny) media."""
    work = tmp_path_factory.mktemp("fuzz-drafts")
    return {name: fixture_folders.materialize(name, work, media_dir, scale=MEDIA_SCALE) for name in fixture_names()}


@pytest.fixture(scope="module")
def probe_thread():
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fuzz-probe") as pool:
        yield pool


def _probe(folder: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(["probe", str(folder)])
    return rc, out.getvalue(), err.getvalue()


def probe_bytes(raw: bytes, folder: Path, pool: concurrent.futures.Executor) -> None:
    """Write ``raw`` as the folder's draft_content.json, probe it, check the invariants."""
    (folder / "draft_content.json").write_bytes(raw)
    future = pool.submit(_probe, folder)
    try:
        rc, _, err = future.result(timeout=HANG_GUARD_S)
    except concurrent.futures.TimeoutError:
        pytest.fail(f"probe did not finish within {HANG_GUARD_S:g} s (hang)")
    if rc == 0:
        event("probe: ok")
        assert "Traceback" not in err
        return
    assert rc == 1, (rc, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    m = _ERROR_LINE.match(lines[0])
    assert m, err
    event(f"probe: error {m['code']}")
    assert m["code"] in known_codes(), err


@pytest.mark.parametrize("name", fixture_names())
def test_fixture_drafts_probe_cleanly(name, draft_folders, probe_thread):
    """The unmutated fixtures pass (the fuzz test's starting points are valid drafts)."""
    folder = draft_folders[name]
    rc, out, err = probe_thread.submit(_probe, folder).result(timeout=HANG_GUARD_S)
    assert rc == 0, err
    assert out.startswith("output ")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=mutated_fixtures())
# regressions: each a failure the fuzzer found
@example(case=(FIRST, b'{"tracks": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"))  # RecursionError in msgspec
@example(
    case=(
        FIRST,
        b'{"tracks": [{"type": "video", "segments": [{"material_id": "m", "target_timerange": '
        b'{"duration": 1000000}}]}], "materials": {"videos": [{"id": "m", "path": "a\\nb"}]}}',
    )
)
#        ^ a line break in a path split the CLI's one error line
@example(case=(FIRST, b'{"fps": 1e-300}'))  # positive, but rounds to 0/1: ValueError in timebase
def test_probe_of_a_mutated_draft_fails_only_with_a_typed_error(case, draft_folders, probe_thread):
    name, raw = case
    probe_bytes(raw, draft_folders[name], probe_thread)
