"""schemathesis against the service's own /openapi.json (bounded examples): no 5xx, every status
documented, every response matching its schema and content type.

The schema is built in-process (pure, no server needed at collection); requests go to a
``python -m server`` subprocess that renders nothing (``--concurrency 0``) and may only reach
the local draft host (``--url-allowlist`` with ``--url-allowlist-only``), so generated URLs never
leave the machine."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from server.openapi import build_spec
from tests.server_fixtures import draft_host  # noqa: F401 - fixture
from tests.server_helpers import ServerProcess

# /v1/probe fetches an inline draft's material URLs, which may name any host: not fuzzed here
# (tests/test_console_browser.py and tests/test_server_probe.py cover it against 127.0.0.1)
schema = schemathesis.openapi.from_dict(build_spec()).exclude(path="/v1/probe")

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_base(tmp_path_factory, draft_host):
    srv = ServerProcess(
        tmp_path_factory.mktemp("schemathesis"),
        extra=[
            "--concurrency",
            "0",
            "--url-allowlist",
            f"127.0.0.1:{draft_host.port}",
            "--queue-limit",
            "100000",
            "--submit-check-timeout",
            "2",
        ],
    ).start()
    yield srv.base
    srv.stop()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_api_conforms_to_its_schema(case, api_base):
    if case.path.endswith("/events") and case.method == "GET":
        # an event stream only ends with its job: ask about jobs that do not exist (404)
        case.path_parameters = {"id": "no-such-job"}
    case.call_and_validate(base_url=api_base, checks=CHECKS, timeout=10)
