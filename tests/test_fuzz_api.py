"""Fuzzing every POST body of the service: gen_video, gen_video_status and
POST /v1/renders, in-process (aiohttp test server, ``concurrency=0`` so nothing renders).

Bodies are schema-driven (the request schemas of the OpenAPI document, with URLs that lead
to a loopback draft host, to hosts the allowlist refuses, or nowhere), structure-mutated
(keys deleted, values replaced by nasty ones), inline drafts mutated from the fixture
drafts, arbitrary JSON and raw bytes, each with a content type from a list that includes
non-JSON ones, and with fuzzed ``Idempotency-Key`` / ``X-API-Key`` / ``Accept-Language``
headers. The invariants, and only those:

* no 5xx; every answer is JSON: an error body with a known ``error.code`` (the table in
  server/errors.py) for 4xx, the route's response type for 2xx;
* nothing is logged at ERROR (no traceback in the server log);
* every request is answered (a per-request guard fails the example on a hang).

The service only ever reaches the draft host on 127.0.0.1 (``url_allowlist``); every other
URL a body names is refused before any connection. ``FUZZ_EXAMPLES`` / ``FUZZ_RANDOM=1`` as in
tests/test_fuzz_draft.py.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os

import msgspec
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from server.app import create_app
from server.errors import ERRORS, ErrorBody
from server.openapi import build_spec
from server.schemas import GenVideoResponse, GenVideoStatusResponse, RenderJob
from server.settings import Settings
from tests.fuzz_strategies import (
    dumps,
    fixture_draft,
    fixture_names,
    from_schema,
    json_values,
    mutate,
    mutated_inline_drafts,
    nasty_values,
    raw_bodies,
)
from tests.server_fixtures import TEST_DEFAULTS
from tests.server_helpers import DraftHost, tiny_draft

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1000"))
DERANDOMIZE = os.environ.get("FUZZ_RANDOM") != "1"
#: a request is answered in milliseconds; one still open after this is a hang
HANG_GUARD_S = 60.0

GEN_VIDEO = "/openapi/capcut-mate/v1/gen_video"
GEN_VIDEO_STATUS = "/openapi/capcut-mate/v1/gen_video_status"
RENDERS = "/v1/renders"
SUCCESS_TYPES = {GEN_VIDEO: GenVideoResponse, GEN_VIDEO_STATUS: GenVideoStatusResponse, RENDERS: RenderJob}

# Placeholders the test fills per request: the draft host's address (its port is known only
# at run time), a fresh draft id whose content the example supplies, an inline draft's bytes.
HOST = "http://127.0.0.1:DRAFTHOSTPORT"
GET_DRAFT = HOST + "/openapi/capcut-mate/v1/get_draft"
FRESH_ID = "FUZZFRESHID"
INLINE = "\x00__fuzz_inline_draft__"
OK_ID = "20261203000000fuzzok01"

SETTINGS_OF_FUZZ = dict(TEST_DEFAULTS, queue_limit=10_000_000, submit_check="sync", submit_check_timeout_s=5.0)


# -- the service ---------------------------------------------------------------------------------


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.threadName != "draft-host":  # the test's draft host logs what it refuses
            self.records.append(record)


class Service:
    """The app on a test server, driven from synchronous hypothesis tests through its own loop."""

    def __init__(self, tmp_path, host: DraftHost):
        self.host = host
        self.loop = asyncio.new_event_loop()
        self.fresh = itertools.count(1)
        self.errors = _ErrorLog()
        # only the draft host may be reached (every other URL is refused before any connection)
        settings = Settings(
            **dict(SETTINGS_OF_FUZZ, url_allowlist=(f"127.0.0.1:{host.port}",)), port=0, data_dir=str(tmp_path / "data")
        )
        self.client = self.loop.run_until_complete(self._start(settings))
        logging.getLogger().addHandler(self.errors)

    async def _start(self, settings: Settings) -> TestClient:
        client = TestClient(TestServer(create_app(settings), host="127.0.0.1"))
        await client.start_server()
        return client

    def close(self) -> None:
        logging.getLogger().removeHandler(self.errors)
        self.loop.run_until_complete(self.client.close())
        self.loop.close()

    def post(
        self, path: str, body: bytes, content_type: str | None, headers: dict[str, str], hosted: bytes | None
    ) -> tuple[int, str, bytes]:
        body = body.replace(b"DRAFTHOSTPORT", str(self.host.port).encode())
        if FRESH_ID.encode() in body:
            draft_id = f"20261203{next(self.fresh):014d}"
            self.host.add_content(draft_id, hosted if hosted is not None else b"{}")
            body = body.replace(FRESH_ID.encode(), draft_id.encode())
        hdrs = dict(headers)
        if content_type is not None:
            hdrs["Content-Type"] = content_type
        return self.loop.run_until_complete(self._post(path, body, hdrs))

    async def _post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes]:
        try:
            async with asyncio.timeout(HANG_GUARD_S):
                async with self.client.post(
                    path, data=body, headers=headers, skip_auto_headers=("Content-Type",)
                ) as resp:
                    return resp.status, resp.content_type, await resp.read()
        except TimeoutError:
            pytest.fail(f"POST {path} was not answered within {HANG_GUARD_S:g} s (hang)")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    host = DraftHost().start()
    host.add_content(OK_ID, tiny_draft(OK_ID))
    for i, name in enumerate(fixture_names()):
        host.add_content(f"{OK_ID}{i}", fixture_draft(name))
    svc = Service(tmp_path_factory.mktemp("fuzz-api"), host)
    yield svc
    svc.close()
    host.stop()


def check(service: Service, path: str, case) -> None:
    """Send one fuzz case; assert the invariants of the module docstring."""
    body, content_type, headers, hosted = case
    service.errors.records.clear()
    status, ctype, raw = service.post(path, body, content_type, headers, hosted)
    assert status < 500, (status, raw[:2000])
    assert ctype == "application/json", (status, ctype, raw[:200])
    if status >= 400:
        err = msgspec.json.decode(raw, type=ErrorBody)
        event(f"{status} {err.error.code}")
        assert err.error.code in ERRORS, raw[:2000]
    else:
        event(f"{status}")
        msgspec.json.decode(raw, type=SUCCESS_TYPES[path])
    logged = [f"{r.name}: {r.getMessage()}" for r in service.errors.records]
    assert not logged, logged


# -- strategies ----------------------------------------------------------------------------------

_SPEC = build_spec()
_DEFS = {k: v for k, v in _SPEC["components"]["schemas"].items()}


def _schema_of(name: str) -> st.SearchStrategy:
    return from_schema({"$ref": f"#/components/schemas/{name}"}, _DEFS)


_text = st.text(max_size=30).filter(lambda s: "://" not in s)
_query_values = st.one_of(_text, st.sampled_from(["", "%00", "%ff", "..%2f..", "a&draft_id=b", "\u202e", "😀"]))

#: URLs: the draft host (a known draft, an unknown id, a fresh draft with fuzzed content, odd
#: paths), hosts the allowlist refuses (never connected to), and things that are not URLs
_good_urls = st.one_of(
    st.just(f"{GET_DRAFT}?draft_id={OK_ID}"),
    st.integers(0, len(fixture_names()) - 1).map(lambda i: f"{GET_DRAFT}?draft_id={OK_ID}{i}"),
    st.just(f"{GET_DRAFT}?draft_id={FRESH_ID}"),
)
urls = st.one_of(
    _good_urls,
    _good_urls,
    _good_urls,
    _query_values.map(lambda v: f"{GET_DRAFT}?draft_id={v}"),
    st.tuples(_text, _query_values).map(lambda p: f"{HOST}/{p[0]}?draft_id={p[1]}"),
    st.sampled_from(
        [
            f" {GET_DRAFT}?draft_id={OK_ID} ",
            f"{GET_DRAFT}?draft_id={OK_ID}#x",
            f"{GET_DRAFT}?draft_id={OK_ID}&draft_id=other",
            f"{GET_DRAFT}",
            f"HTTP://127.0.0.1:DRAFTHOSTPORT/openapi/capcut-mate/v1/get_draft?draft_id={OK_ID}",
            f"http://user:pw@127.0.0.1:DRAFTHOSTPORT/openapi/capcut-mate/v1/get_draft?draft_id={OK_ID}",
        ]
    ),
    st.tuples(
        st.sampled_from(
            [
                "localhost",
                "127.0.0.2",
                "[::1]",
                "example.invalid",
                "127.0.0.1:1",
                "127.0.0.1:DRAFTHOSTPORT@example.invalid",
                "[::1",
                "127.0.0.1:99999",
                "127.0.0.1:-1",
                "",
                "xn--",
                "\u0430pple.invalid",
            ]
        ),
        st.sampled_from(["http", "https", "HTTP"]),
    ).map(lambda p: f"{p[1]}://{p[0]}/x?draft_id=1"),
    st.sampled_from(
        [
            "",
            " ",
            "ftp://127.0.0.1/x?draft_id=1",
            "file:///etc/passwd?draft_id=1",
            "javascript:alert(1)",
            "/abs/path?draft_id=1",
            "draft_id=1",
            "http://",
            "https:///x",
            "http:\\\\127.0.0.1\\x",
            "\x00http://127.0.0.1/",
            "http://" + "a" * 70_000 + "/?draft_id=1",
            f"{GET_DRAFT}?draft_id=" + "9" * 100_000,
        ]
    ),
    _text,
)


def _with(obj: dict, **fields) -> dict:
    return {**obj, **{k: v for k, v in fields.items() if v is not _KEEP}}


_KEEP = object()
_maybe = lambda s: st.one_of(st.just(_KEEP), s)  # noqa: E731 - strategy combinator


def _body_variants(objects: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    """Schema-shaped objects, then the same structure-mutated, any JSON, or raw bytes."""
    shaped = objects.map(dumps)
    return st.one_of(
        shaped,
        shaped,
        shaped,
        shaped,
        shaped,
        shaped,
        objects.flatmap(lambda o: mutate(o, max_ops=3)).map(dumps),
        objects.flatmap(lambda o: mutate(o, max_ops=3)).map(dumps),
        json_values.map(dumps),
        raw_bodies,
    )


_api_keys = st.one_of(st.none(), st.none(), st.uuids().map(str), st.uuids().map(str), _text, nasty_values)
gen_video_objects = st.one_of(
    st.builds(_with, _schema_of("GenVideoRequest"), draft_url=urls, apiKey=_api_keys),
    st.builds(_with, _schema_of("GenVideoRequest"), draft_url=_maybe(urls), apiKey=_maybe(_api_keys)),
)
gen_video_status_objects = st.builds(_with, _schema_of("GenVideoStatusRequest"), draft_url=urls)
_outputs = st.one_of(_schema_of("OutputOptions"), _schema_of("OutputOptions").flatmap(lambda o: mutate(o, 2)))
render_objects = st.one_of(
    st.builds(
        _with,
        _schema_of("RenderRequest"),
        draft_url=urls,
        draft=st.none(),
        output=_maybe(_outputs),
        callback_url=_maybe(st.one_of(st.none(), urls)),
    ),
    st.builds(
        _with,
        _schema_of("RenderRequest"),
        draft=st.one_of(st.just(INLINE), nasty_values),
        draft_url=st.none(),
        output=_maybe(_outputs),
        callback_url=_maybe(st.one_of(st.none(), urls)),
    ),
    st.builds(_with, _schema_of("RenderRequest"), draft=_maybe(st.just(INLINE)), draft_url=_maybe(urls)),
)

content_types = st.sampled_from(
    ["application/json"] * 8
    + [
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json; charset=latin-1",
        "",
        "*/*",
        "application/vnd.api+json",
        "application/json;;;",
        None,
    ]
)

_header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=250)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Idempotency-Key": _header_text,
        "X-API-Key": _header_text,
        "Authorization": _header_text.map("Bearer {}".format),
        "Accept-Language": st.one_of(_header_text, st.sampled_from(["en", "zh-CN", "en-US,en;q=0.9", "*"])),
    },
)

hosted_content = st.one_of(
    st.just(json.dumps(tiny_draft(FRESH_ID)).encode()),
    mutated_inline_drafts(),
    json_values.map(dumps),
    raw_bodies,
)


@st.composite
def cases(draw, objects: st.SearchStrategy) -> tuple[bytes, str | None, dict, bytes | None]:
    """``(body, content type, headers, content of the fresh draft the body may name)``."""
    body = draw(_body_variants(objects))
    if INLINE.encode() in body:
        body = body.replace(json.dumps(INLINE).encode(), draw(mutated_inline_drafts()))
    hosted = draw(hosted_content) if FRESH_ID.encode() in body else None
    return body, draw(content_types), draw(headers), hosted


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- the targets ---------------------------------------------------------------------------------

NO_HEADERS: dict[str, str] = {}


@FUZZ
@given(case=cases(gen_video_objects))
# regressions: each a failure the fuzzer found
@example(case=(b"[" * 100_000, "application/json", NO_HEADERS, None))  # RecursionError: 500
def test_fuzz_gen_video(case, service):
    check(service, GEN_VIDEO, case)


@FUZZ
@given(case=cases(gen_video_status_objects))
def test_fuzz_gen_video_status(case, service):
    check(service, GEN_VIDEO_STATUS, case)


@FUZZ
@given(case=cases(render_objects))
@example(
    case=(
        f'{{"draft_url": "{GET_DRAFT}?draft_id={OK_ID}", "output": {{"fps": 1e-05}}}}'.encode(),
        "application/json",
        NO_HEADERS,
        None,
    )
)  # fps rounded to "0/1": the job broke its schema
@example(
    case=(
        f'{{"draft_url": "{GET_DRAFT}?draft_id={OK_ID}", "output": {{"end_s": 5e-324}}}}'.encode(),
        "application/json",
        NO_HEADERS,
        None,
    )
)  # end_s rounded to 0 µs: likewise
def test_fuzz_create_render(case, service):
    check(service, RENDERS, case)
