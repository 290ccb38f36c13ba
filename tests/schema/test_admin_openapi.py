"""Schemathesis against the admin API's own OpenAPI document: whatever it sends within the
document or just outside it (with the operator's bearer, and in half the cases the ids of
records that exist), no answer is a 5xx, and each one's status, content type, headers and body
are what the document declares for that route."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.types import ASGIApp

from tests.factories import ADMIN
from tests.schema.conftest import Records
from tests.schema.documents import served

EXAMPLES = int(os.environ.get("TENANTGATE_SCHEMA_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_dict(served("/admin/v1/openapi.json"))


@schema.parametrize()
@schema.given(existing=st.booleans())
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate, Phase.shrink],  # the document's own examples need no given
    suppress_health_check=list(HealthCheck),
)
def test_the_admin_api_answers_as_its_document_says(
    case: schemathesis.Case, existing: bool, app: ASGIApp, records: Records
) -> None:
    if existing and case.path_parameters:
        case.path_parameters = {k: records.path(k, v) for k, v in case.path_parameters.items()}
    case.call_and_validate(app=app, headers=ADMIN, checks=CHECKS)
