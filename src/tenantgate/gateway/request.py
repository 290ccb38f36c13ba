"""The GraphQL request in a gateway request, read as GraphQL over HTTP defines it: a POST
body that is a JSON object with ``query`` and an optional ``operationName``, or the GET query
parameters of those names; over WebSocket, a ``subscribe`` payload of the same shape.

The gateway forwards the caller's bytes unchanged, so it must read them exactly as the upstream
will. Anything an upstream could read another way is refused: a body that is not
``application/json`` (multipart and other media types), a JSON key given twice (parsers differ
on which one wins), a repeated query parameter, a batch (a JSON list)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

import orjson

from tenantgate.edge.body import BadBody, loads
from tenantgate.gateway.errors import BadRequest, UnsupportedMediaType

_JSON = b"application/json"
# A repeated key needs its name twice; a key spelled with escapes needs a backslash-u. Only a
# body with either is read again by the strict reader, which refuses repeated keys.
_MAYBE_REPEATED = (b'"query"', b'"operationName"')


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str
    operation_name: str | None


def from_body(body: bytes, content_type: bytes | None) -> GraphQLRequest:
    if content_type is not None and _media_type(content_type) != _JSON:
        raise UnsupportedMediaType("not application/json")
    try:
        value = orjson.loads(body)
        if b"\\u" in body or any(body.count(key) > 1 for key in _MAYBE_REPEATED):
            value = loads(body)
    except (orjson.JSONDecodeError, BadBody) as exc:
        raise BadRequest("body is not JSON", message=_public(exc)) from None
    if not isinstance(value, dict):
        raise BadRequest("body is not a JSON object")
    return from_payload(value)


def from_query_string(query_string: bytes) -> GraphQLRequest:
    try:
        params = parse_qs(query_string.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("query string does not decode") from None
    if any(len(params.get(key, ())) > 1 for key in ("query", "operationName")):
        raise BadRequest(
            "repeated parameter", message="Give query and operationName at most once each."
        )
    query = params.get("query")
    name = params.get("operationName")
    return from_payload({"query": query[0] if query else None, "operationName": name and name[0]})


def from_payload(payload: Mapping[str, object]) -> GraphQLRequest:
    query, name = payload.get("query"), payload.get("operationName")
    if not isinstance(query, str):
        raise BadRequest("no query string")
    if name is not None and not isinstance(name, str):
        raise BadRequest("operationName not a string", message="operationName must be a string.")
    return GraphQLRequest(query, name)


def _media_type(content_type: bytes) -> bytes:
    return content_type.split(b";", 1)[0].strip().lower()


def _public(error: Exception) -> str:
    if isinstance(error, BadBody):
        return str(error)
    return "The body is not valid JSON."
