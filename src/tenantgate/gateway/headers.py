"""The header rules of the gateway, both ways, on ASGI's raw ``(name, value)`` byte pairs.

Request: hop-by-hop headers (RFC 9110 §7.6.1: Connection, Keep-Alive, Proxy-*, TE, Trailer,
Transfer-Encoding, Upgrade, and any named in Connection) are removed, and so are the headers
the gateway sets itself (Host, Content-Length, X-Tenant-Id, X-Application-Id, X-Client-Id,
X-Request-Id, X-Tenantgate-Gateway), and so are names that differ from those only by ``_`` for
``-`` (``X_Tenant_Id``), which CGI-style servers read as the same header. Authorization is
forwarded: the upstream verifies the token too.

Response: the same hop-by-hop removal; Content-Length is recomputed, Date and Server are the
gateway's own, X-Request-Id is the gateway's.

One pass over the list, no dicts: this runs on every request."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tenantgate.http import parse_bearer

RawHeaders = list[tuple[bytes, bytes]]

_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
_SET_BY_GATEWAY = frozenset(
    {
        b"host",
        b"content-length",
        b"expect",
        b"x-tenant-id",
        b"x-application-id",
        b"x-client-id",
        b"x-request-id",
        b"x-tenantgate-gateway",
    }
)
_DROP_REQUEST = _HOP_BY_HOP | _SET_BY_GATEWAY
_DROP_RESPONSE = _HOP_BY_HOP | {b"content-length", b"date", b"server", b"x-request-id"}

_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")


@dataclass(slots=True)
class Incoming:
    """What the gateway reads from the caller's headers, and what it passes on."""

    forward: RawHeaders
    authorization: bytes | None = None
    authorizations: int = 0
    request_id: bytes | None = None
    content_length: bytes | None = None
    content_type: bytes | None = None
    """The one Content-Type, or an empty value when there were several."""


def read_request_headers(raw: RawHeaders) -> Incoming:
    incoming = Incoming([])
    forward = incoming.forward
    connection: list[bytes] = []
    for pair in raw:
        name = pair[0]
        if b"_" in name and name.replace(b"_", b"-") in _SET_BY_GATEWAY:
            continue  # X_Tenant_Id: many servers read it as X-Tenant-Id
        if name in _DROP_REQUEST or name.startswith(b"proxy-"):
            if name == b"x-request-id":
                incoming.request_id = pair[1]
            elif name == b"content-length":
                incoming.content_length = pair[1]
            elif name == b"connection":
                connection.append(pair[1])
            continue
        if name == b"authorization":
            incoming.authorization = pair[1]
            incoming.authorizations += 1
        elif name == b"content-type":
            incoming.content_type = b"" if incoming.content_type is not None else pair[1]
        forward.append(pair)
    if connection:
        incoming.forward = _without_named(forward, connection)
    return incoming


def response_headers(raw: RawHeaders, request_id: bytes) -> tuple[RawHeaders, bytes | None]:
    """The headers to send back, and the upstream's Content-Length (None if it sent none)."""
    headers: RawHeaders = []
    connection: list[bytes] = []
    content_length = None
    for name, value in raw:
        name = name.lower()
        if name in _DROP_RESPONSE or name.startswith(b"proxy-"):
            if name == b"content-length":
                content_length = value
            elif name == b"connection":
                connection.append(value)
            continue
        headers.append((name, value))
    if connection:
        headers = _without_named(headers, connection)
    headers.append((b"x-request-id", request_id))
    return headers, content_length


def _without_named(headers: RawHeaders, connection: list[bytes]) -> RawHeaders:
    named = {token.strip().lower() for value in connection for token in value.split(b",")}
    return [pair for pair in headers if pair[0] not in named]


def valid_request_id(value: bytes | None) -> bytes | None:
    """A caller's X-Request-Id is kept only if it is 1-128 of ``[A-Za-z0-9._-]``."""
    if value is not None and _REQUEST_ID.fullmatch(value):
        return value
    return None


def bearer_token(incoming: Incoming) -> str | None:
    """RFC 6750 §2.1: exactly one ``Authorization: Bearer <b64token>``; else None."""
    if incoming.authorizations != 1:
        return None
    return parse_bearer(incoming.authorization)
