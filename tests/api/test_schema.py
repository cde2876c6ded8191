"""The OpenAPI schema is valid, and the API keeps to it (schemathesis).

schemathesis generates requests from our own /api/schema/ (valid and invalid
ones, a small deterministic budget per operation) and calls the WSGI app as a
funded, verified user with a real token; the stemworker is not running, so a
job that gets through validation just stays queued. Every answer must be
non-5xx and match the schema: status code, content type, headers and body.
"""

from collections.abc import Iterator
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import api_token_create
from billing.services import credits_adjust
from config.wsgi import application
from tests.helpers.jobs import finished_job

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_the_schema_validates_without_warnings(tmp_path):
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yaml"),
    )


@pytest.fixture
def keep_the_test_connection() -> Iterator[None]:
    """Django closes the DB connection after each request, which ends the test's
    transaction; its own test client switches that off, and so must we."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def closing_application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The WSGI app, answering with the whole body and closing the response, as a
    WSGI server does (schemathesis' client does not close it, and Django only
    then closes the request's uploaded files)."""
    result = application(environ, start_response)
    try:
        return [b"".join(result)]
    finally:
        result.close()


@pytest.fixture
def api_schema(db, settings, keep_the_test_connection):  # type: ignore[no-untyped-def]
    settings.API_THROTTLE_RATES = {"api": None, "job_create": None}
    return schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", closing_application
    )


@pytest.fixture
def auth_headers(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    credits_adjust(user=user, delta=20, note="schemathesis")
    finished_job(user)
    _, secret = api_token_create(user=user, name="schemathesis")
    return {"Authorization": f"Token {secret}"}


EXAMPLES = hypothesis.settings(
    max_examples=10,
    deadline=None,
    derandomize=True,  # the same cases on every run
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_the_api_keeps_to_its_schema(api_schema, auth_headers):  # type: ignore[no-untyped-def]
    """Valid and invalid requests for every operation: never a 5xx, never an
    answer the schema does not describe."""
    failures: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode, headers=auth_headers)

            @EXAMPLES
            @hypothesis.given(case=strategy)
            def run(case) -> None:  # type: ignore[no-untyped-def]
                case.call_and_validate(headers=auth_headers, checks=CHECKS)

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                pass  # nothing to make invalid (no parameters, no body)
            except Exception as error:  # noqa: BLE001 - collected, reported below
                failures.append(f"{operation.label} ({mode.value}): {error}")
    assert not failures, "\n\n".join(failures)
