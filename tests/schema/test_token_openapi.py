"""Schemathesis against the Token API's OpenAPI document (``/v1/openapi.json``, written by
hand): whatever it sends within the document or just outside it, no answer is a 5xx, and each
one's status, content type, headers and body are what the document declares. Random input
mostly gets 400 and 403; in half the cases the client's real credentials, tenant and token
are put in, so that 200s are held to the document too."""

from __future__ import annotations

import os
from typing import Any

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

EXAMPLES = int(os.environ.get("TENANTGATE_SCHEMA_EXAMPLES", "50"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_dict(served("/v1/openapi.json"))


@schema.parametrize()
@schema.given(existing=st.booleans())
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)
def test_the_token_api_answers_as_its_document_says(
    case: schemathesis.Case, existing: bool, app: ASGIApp, records: Records
) -> None:
    if existing:
        _with_records(case, records)
    case.call_and_validate(app=app, checks=CHECKS)


def _with_records(case: schemathesis.Case, records: Records) -> None:
    """The real client, tenant and token where the operation takes them."""
    route = (case.method.upper(), case.operation.path)
    headers: dict[str, Any] = dict(case.headers or {})
    if route == ("DELETE", "/v1/token"):
        headers["x-tokens"] = f"accessToken={records.token_to_end}"
    elif isinstance(case.body, dict):
        headers.pop("Authorization", None)
        case.body = {**case.body, **_fields(route, case.media_type, records)}
        if route == ("POST", "/v1/token/introspect"):
            headers.update(ADMIN)
    case.headers = headers


def _fields(route: tuple[str, str], media_type: str | None, records: Records) -> dict[str, str]:
    client = {"client_id": records.client_id, "client_secret": records.client_secret}
    if route == ("POST", "/v1/token") and media_type == "application/json":
        return {
            "clientId": records.client_id,
            "clientSecret": records.client_secret,
            "tenantId": records.tenant_id,
        }
    if route == ("POST", "/v1/token"):
        scope = f"tenantid:{records.tenant_id}"
        return {**client, "grant_type": "client_credentials", "scope": scope}
    if route == ("POST", "/v1/token/revoke"):
        return {**client, "token": records.token_to_end}
    return {"token": records.token}
