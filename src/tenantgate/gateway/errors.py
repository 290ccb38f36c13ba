"""What the gateway refuses, and how each refusal looks on the wire.

``GatewayError`` is the base; every subclass carries the HTTP status, the GraphQL error code
that goes in ``extensions.code``, a public ``message``, and for 401 and 403 the RFC 6750 §3
``WWW-Authenticate`` challenge. ``reason`` is the internal detail: it is logged, never sent.

    GatewayError
    ├── Unauthenticated       401 UNAUTHENTICATED     (RFC 6750 invalid_token)
    ├── Forbidden             403 FORBIDDEN           (RFC 6750 insufficient_scope)
    ├── MethodNotAllowed      405 METHOD_NOT_ALLOWED
    ├── PayloadTooLarge       413 PAYLOAD_TOO_LARGE
    ├── BadGateway            502 BAD_GATEWAY         (upstream refused, reset, or spoke badly)
    ├── GatewayTimeout        504 GATEWAY_TIMEOUT     (upstream slower than upstream_timeout)
    └── Unavailable           503 UNAVAILABLE         (this node is not known to be current)
"""

from __future__ import annotations

import orjson


class GatewayError(Exception):
    status_code = 500
    code = "INTERNAL_SERVER_ERROR"
    message = "The gateway could not complete the request."
    extra_headers: tuple[tuple[bytes, bytes], ...] = ()

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or self.code)
        self.reason = reason or self.code

    @classmethod
    def body(cls) -> bytes:
        error = {"message": cls.message, "extensions": {"code": cls.code}}
        return orjson.dumps({"errors": [error]})


class Unauthenticated(GatewayError):
    status_code = 401
    code = "UNAUTHENTICATED"
    message = "The access token is missing, malformed, unknown, expired or invalidated."
    extra_headers = ((b"www-authenticate", b'Bearer error="invalid_token"'),)


class Forbidden(GatewayError):
    status_code = 403
    code = "FORBIDDEN"
    message = "The access token does not reach this app."
    extra_headers = ((b"www-authenticate", b'Bearer error="insufficient_scope"'),)


class MethodNotAllowed(GatewayError):
    status_code = 405
    code = "METHOD_NOT_ALLOWED"
    message = "Use GET or POST."
    extra_headers = ((b"allow", b"GET, POST"),)


class PayloadTooLarge(GatewayError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    message = "The request body is larger than this gateway accepts."


class BadGateway(GatewayError):
    status_code = 502
    code = "BAD_GATEWAY"
    message = "The app's upstream could not be reached."


class GatewayTimeout(GatewayError):
    status_code = 504
    code = "GATEWAY_TIMEOUT"
    message = "The app's upstream did not answer in time."


class Unavailable(GatewayError):
    """This node could not confirm, within ``TENANTGATE_MAX_STALENESS``, that its memory of
    tokens and permissions is current; another node (or this one, shortly) can answer."""

    status_code = 503
    code = "UNAVAILABLE"
    message = "This node cannot check access right now; retry shortly or on another node."
    extra_headers = ((b"retry-after", b"1"),)
