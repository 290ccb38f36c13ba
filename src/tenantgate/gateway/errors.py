"""What the gateway refuses, and how each refusal looks on the wire.

``GatewayError`` is the base; every subclass carries the HTTP status, the GraphQL error code
that goes in ``extensions.code``, a public ``message``, and for 401 and 403 the RFC 6750 §3
``WWW-Authenticate`` challenge. ``reason`` is the internal detail: it is logged, never sent.
An error about the caller's own document may say more in public: its own ``message`` and more
``extensions`` (the operation type and field a role refuses, the limit a query is over).

    GatewayError
    ├── BadRequest            400 BAD_REQUEST         (not a GraphQL request the gateway can read)
    │   ├── ParseFailed       400 GRAPHQL_PARSE_FAILED
    │   ├── ValidationFailed  400 GRAPHQL_VALIDATION_FAILED
    │   ├── OperationUnresolved  400 OPERATION_RESOLUTION_FAILURE
    │   └── QueryTooComplex   400 QUERY_TOO_COMPLEX   (over one of the app's query limits)
    ├── Unauthenticated       401 UNAUTHENTICATED     (RFC 6750 invalid_token)
    ├── Forbidden             403 FORBIDDEN           (RFC 6750 insufficient_scope)
    │   └── RoleForbids       403 FORBIDDEN           (no role of the API user covers it)
    ├── MethodNotAllowed      405 METHOD_NOT_ALLOWED
    │   └── NotOverGet        405 METHOD_NOT_ALLOWED  (a mutation or subscription over GET)
    ├── PayloadTooLarge       413 PAYLOAD_TOO_LARGE
    ├── UnsupportedMediaType  415 UNSUPPORTED_MEDIA_TYPE
    ├── RateLimited           429 RATE_LIMITED        (over the API user's rate or daily quota)
    ├── BadGateway            502 BAD_GATEWAY         (upstream refused, reset, or spoke badly)
    ├── GatewayTimeout        504 GATEWAY_TIMEOUT     (upstream slower than upstream_timeout)
    └── Unavailable           503 UNAVAILABLE         (this node is not known to be current)
"""

from __future__ import annotations

import math

import orjson


class GatewayError(Exception):
    status_code = 500
    code = "INTERNAL_SERVER_ERROR"
    message = "The gateway could not complete the request."
    extra_headers: tuple[tuple[bytes, bytes], ...] = ()

    def __init__(
        self, reason: str | None = None, *, message: str | None = None, **extensions: object
    ) -> None:
        super().__init__(reason or self.code)
        self.reason = reason or self.code
        self.public = message or self.message
        self.extensions = extensions

    @property
    def plain(self) -> bool:
        """Says no more than its class, so its body can be rendered once per class."""
        return not self.extensions and self.public is self.message

    def error(self) -> dict[str, object]:
        """The GraphQL error: ``{"message", "extensions": {"code", ...}}``."""
        return {"message": self.public, "extensions": {"code": self.code, **self.extensions}}

    def render(self) -> bytes:
        return orjson.dumps({"errors": [self.error()]})

    def again(self) -> GatewayError:
        """A fresh copy to raise, for an error kept in a cache."""
        return type(self)(self.reason, message=self.public, **self.extensions)

    @classmethod
    def body(cls) -> bytes:
        error = {"message": cls.message, "extensions": {"code": cls.code}}
        return orjson.dumps({"errors": [error]})


class BadRequest(GatewayError):
    status_code = 400
    code = "BAD_REQUEST"
    message = "A GraphQL request is a JSON object with a query string (GET: a query parameter)."


class ParseFailed(BadRequest):
    code = "GRAPHQL_PARSE_FAILED"
    message = "The GraphQL document does not parse."


class ValidationFailed(BadRequest):
    code = "GRAPHQL_VALIDATION_FAILED"
    message = "The GraphQL document is not valid."


class OperationUnresolved(BadRequest):
    code = "OPERATION_RESOLUTION_FAILURE"
    message = "The operation to run cannot be told from the document and operationName."


class QueryTooComplex(BadRequest):
    """Over one of the app's query limits: ``extensions`` name the limit and its value."""

    code = "QUERY_TOO_COMPLEX"
    message = "The query is over one of the app's limits."

    def __init__(self, limit: str, value: object, *, message: str | None = None) -> None:
        self.limit, self.value = limit, value
        if message is None:
            message = (
                "Introspection is turned off for this app."
                if limit == "introspection"
                else f"The query is over this app's {limit} of {value}."
            )
        super().__init__(f"over {limit}", message=message, limit=limit, value=value)

    def again(self) -> GatewayError:
        return QueryTooComplex(self.limit, self.value, message=self.public)


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


class RoleForbids(Forbidden):
    """No grant of the API user's roles covers the operation: ``extensions`` name its type
    and the first root field left uncovered."""

    message = "The API user's roles do not allow this operation."

    def __init__(self, operation: str, field: str | None) -> None:
        super().__init__(f"roles refuse {operation} {field}", operation=operation, field=field)
        self.operation, self.field = operation, field

    def again(self) -> GatewayError:
        return RoleForbids(self.operation, self.field)


class MethodNotAllowed(GatewayError):
    status_code = 405
    code = "METHOD_NOT_ALLOWED"
    message = "Use GET or POST."
    extra_headers = ((b"allow", b"GET, POST"),)


class NotOverGet(MethodNotAllowed):
    """GraphQL over HTTP: a mutation (or a subscription) is never sent with GET."""

    message = "Only queries may be sent with GET; send this operation with POST."
    extra_headers = ((b"allow", b"POST"),)


class PayloadTooLarge(GatewayError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    message = "The request body is larger than this gateway accepts."


class UnsupportedMediaType(GatewayError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    message = "Send the GraphQL request as application/json."


class RateLimited(GatewayError):
    """Over the API user's rate limit or daily quota; when to come back is in ``Retry-After``
    and in ``extensions.retryAfter`` (seconds), which is all a subscription refused over
    WebSocket has."""

    status_code = 429
    code = "RATE_LIMITED"
    message = "Too many requests for this API user: retry after Retry-After seconds."

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            "over rate limit or quota",
            message=f"Too many requests for this API user: retry after {seconds} s.",
            retryAfter=seconds,
        )
        self.retry_after = seconds
        self.extra_headers = ((b"retry-after", str(seconds).encode()),)

    def again(self) -> GatewayError:
        return RateLimited(self.retry_after)


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
