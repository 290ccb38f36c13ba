"""OAuth 2.0 errors, one class per RFC 6749 §5.2 code, rendered by one handler.

``description`` is what the caller reads; ``reason`` is what the audit trail and the log keep,
and may say more (which rule refused)."""

from __future__ import annotations

from tenantgate.http import NO_STORE, JSONResponse


class OAuthError(Exception):
    error = "server_error"
    status_code = 500
    description = "The server could not complete the request."

    def __init__(self, description: str | None = None, reason: str | None = None) -> None:
        super().__init__(description or self.description)
        if description is not None:
            self.description = description
        self.reason = reason or self.error
        self.headers: dict[str, str] = {}

    @property
    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}

    @property
    def response_headers(self) -> dict[str, str]:
        """An error of the Token API is never cached (RFC 6749 §5.2)."""
        return {**NO_STORE, **self.headers}


class InvalidRequest(OAuthError):
    error = "invalid_request"
    status_code = 400
    description = "The request is missing a parameter or is malformed."


class InvalidClient(OAuthError):
    error = "invalid_client"
    status_code = 403
    description = "Client authentication failed."


class AccessDenied(OAuthError):
    """The same answer whether the tenant is unknown, suspended, or has not accepted the
    application, so that nobody learns which tenants exist."""

    error = "access_denied"
    status_code = 403
    description = "This application is not allowed to access this tenant."


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"
    status_code = 400
    description = "Only grant_type=client_credentials is supported."


class InvalidScope(OAuthError):
    error = "invalid_scope"
    status_code = 400
    description = "scope must name exactly one tenant: tenantid:<tenant id>."


class SlowDown(OAuthError):
    error = "slow_down"
    status_code = 429
    description = "Too many failed attempts; retry later."

    def __init__(self, retry_after: int) -> None:
        super().__init__(reason="rate_limited")
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class TemporarilyUnavailable(OAuthError):
    """The issuance or invalidation could not be made durable (RFC 6749 §4.1.2.1 code)."""

    error = "temporarily_unavailable"
    status_code = 503
    description = "The server cannot record this right now; retry shortly."

    def __init__(self, reason: str = "storage unavailable", retry_after: int = 1) -> None:
        super().__init__(reason=reason)
        self.headers = {"Retry-After": str(retry_after)}


class NotCurrent(Exception):
    """This node cannot confirm that its memory is current (``TENANTGATE_MAX_STALENESS``): it
    must not answer from it, since it may still hold a permission withdrawn elsewhere."""


class InvalidToken(Exception):
    """A bearer token that must be refused with 401 (RFC 6750 §3.1 invalid_token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InsufficientScope(Exception):
    """A valid token that does not reach what it asks for (RFC 6750 §3.1, 403)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def oauth_error_response(error: OAuthError) -> JSONResponse:
    """The one rendering of an OAuth error as a response (the fast path writes the same body
    and headers through ``send_json``)."""
    return JSONResponse(error.body, status_code=error.status_code, headers=error.response_headers)
