"""GraphQL over HTTP: the request body, and what the gateway's answer means."""

from __future__ import annotations

import re
from typing import Any

import httpx

from ._errors import (
    Forbidden,
    GatewayError,
    GraphQLError,
    InsufficientScope,
    InvalidToken,
    RateLimitExceeded,
)

ACCEPT = {"Accept": "application/graphql-response+json, application/json"}
_BEARER_ERROR = re.compile(r'error="([^"]*)"')


def graphql_payload(
    query: str, variables: dict[str, Any] | None, operation_name: str | None
) -> dict[str, Any]:
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    if operation_name is not None:
        payload["operationName"] = operation_name
    return payload


def graphql_data(response: httpx.Response) -> dict[str, Any]:
    """The ``data`` of a successful answer; anything else raises a ``GatewayError``."""
    status, request_id = response.status_code, response.headers.get("x-request-id")
    body = _json(response)
    if status in (401, 403) and (error := _bearer_error(response)):
        raise _bearer_refusal(status, error, request_id)
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        raise _graphql_error(response, body, request_id)
    if response.is_success and isinstance(body, dict) and (data := _data(body)) is not None:
        return data
    raise GatewayError(_reason(response), status, request_id)


def _graphql_error(
    response: httpx.Response, body: dict[str, Any], request_id: str | None
) -> GraphQLError:
    errors, status, data = body["errors"], response.status_code, _data(body)
    first = GraphQLError(errors, status, request_id, data)
    if status == 403 and "FORBIDDEN" in first.codes:
        return Forbidden(errors, status, request_id, data)
    if status == 429 or "RATE_LIMITED" in first.codes:
        wait = retry_after(response.headers.get("retry-after"))
        return RateLimitExceeded(errors, status, request_id, data, wait)
    return first


def retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the delay form; a date is not used by tenantgate)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _bearer_refusal(status: int, error: str, request_id: str | None) -> GatewayError:
    if status == 401:
        return InvalidToken(f"the gateway refused the token: {error}", status, request_id)
    return InsufficientScope(f"the token does not allow this: {error}", status, request_id)


def _bearer_error(response: httpx.Response) -> str | None:
    header = response.headers.get("www-authenticate", "")
    match = _BEARER_ERROR.search(header)
    if match:
        return match.group(1)
    return "invalid_token" if response.status_code == 401 else None


def _reason(response: httpx.Response) -> str:
    text = " ".join(response.text.split())[:200]
    return f"the gateway answered {response.reason_phrase or 'an error'}: {text or 'no body'}"


def _data(body: dict[str, Any]) -> dict[str, Any] | None:
    data = body.get("data")
    return data if isinstance(data, dict) else None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
