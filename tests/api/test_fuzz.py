"""Fuzzing: schemathesis sends generated requests to every operation of our OpenAPI schema.

Every answer must be documented (status, content type, headers, body schema) and none a 500.
The examples are few and derandomised, so the run is short and the same on every machine.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import checks

from chapterhouse.api.app import create_app
from chapterhouse.config import Settings
from tests.api import TestClient

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(params=["open", "keys"])
def api_schema(
    settings: Settings, request: pytest.FixtureRequest
) -> Iterator[schemathesis.BaseSchema]:
    """The schema of an app on the test database and Redis, started for the run.

    `keys`: API keys are set and reads closed, so most answers are the 401s and 403s.
    """
    if request.param == "keys":
        settings = settings.model_copy(update={"api_keys": "fuzz-key-1", "public_reads": False})
    app = create_app(settings)
    with TestClient(app):
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        # A job's event stream stays open until the job ends, and no worker runs here; its
        # 404 and 422 answers are covered in tests/e2e/test_job_events.py.
        yield schema.exclude(path="/jobs/{job_id}/events")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_documented_and_none_is_a_500(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
