"""Errors raised by the tenantgate SDK.

Catch ``TenantgateError`` for everything, or something narrower::

    TenantgateError
    ├── TokenError             the Token API refused (.error, .description, .status)
    │   ├── InvalidClient          403 invalid_client: wrong client id or secret
    │   ├── AccessDenied           403 access_denied: the tenant has not accepted the application
    │   ├── InvalidRequest         400 invalid_request
    │   ├── InvalidScope           400 invalid_scope
    │   ├── UnsupportedGrantType   400 unsupported_grant_type
    │   └── RateLimited            429 slow_down (.retry_after), once the retries are spent
    ├── GatewayError           the gateway or the app refused (.status, .request_id)
    │   ├── InvalidToken           401 invalid_token, even after one renewal (RFC 6750 §3.1)
    │   ├── InsufficientScope      403 insufficient_scope (RFC 6750 §3.1)
    │   └── GraphQLError           a GraphQL ``errors`` list (.errors, .data, .codes)
    │       ├── Forbidden              403 FORBIDDEN: a role does not allow it (.operation, .field)
    │       └── RateLimitExceeded      429 RATE_LIMITED (.retry_after)
    ├── AppNotAvailable        the token's ``urls.apps`` has no such app (also a LookupError)
    ├── MissingSetting         a required setting is absent (also a ValueError)
    └── TransportError         the server could not be reached: network down, timeout
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class TenantgateError(Exception):
    """Base class of every error raised by ``tenantgate.client``."""


class TokenError(TenantgateError):
    """The Token API answered with an OAuth2 error (RFC 6749 §5.2)."""

    def __init__(self, error: str, description: str, status: int) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status = status


class InvalidClient(TokenError):
    """Unknown client, wrong, revoked or expired secret, or suspended application."""


class AccessDenied(TokenError):
    """The tenant is unknown or suspended, or has not accepted (or has disabled) the app."""


class InvalidRequest(TokenError):
    """The request was malformed."""


class InvalidScope(TokenError):
    """The scope was missing or not of the form ``tenantid:<id>``."""


class UnsupportedGrantType(TokenError):
    """The grant type is not ``client_credentials``."""


class RateLimited(TokenError):
    """Too many failed attempts; ``retry_after`` is the server's wait in seconds, if given."""

    def __init__(
        self, error: str, description: str, status: int, retry_after: float | None = None
    ) -> None:
        super().__init__(error, description, status)
        self.retry_after = retry_after


class GatewayError(TenantgateError):
    """The gateway (or the app behind it) answered with an error."""

    def __init__(self, message: str, status: int, request_id: str | None = None) -> None:
        suffix = f", request id {request_id}" if request_id else ""
        super().__init__(f"{message} (HTTP {status}{suffix})")
        self.status = status
        self.request_id = request_id


class InvalidToken(GatewayError):
    """The gateway refused the token, and the renewed one too."""


class InsufficientScope(GatewayError):
    """The token does not cover this app."""


class GraphQLError(GatewayError):
    """The GraphQL response carried ``errors``; ``data`` holds any partial result."""

    def __init__(
        self,
        errors: Sequence[dict[str, Any]],
        status: int,
        request_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(_summary(errors), status, request_id)
        self.errors = list(errors)
        self.data = data

    @property
    def codes(self) -> list[str]:
        """The ``extensions.code`` of each error that has one."""
        return [code for error in self.errors if (code := _code(error))]


class Forbidden(GraphQLError):
    """The API user's roles do not allow this operation or field (``FORBIDDEN``)."""

    @property
    def operation(self) -> str | None:
        """The operation type refused: ``query``, ``mutation`` or ``subscription``."""
        return self._extension("operation")

    @property
    def field(self) -> str | None:
        """The root field that no role grants."""
        return self._extension("field")

    def _extension(self, name: str) -> str | None:
        for error in self.errors:
            extensions = error.get("extensions")
            if isinstance(extensions, dict) and isinstance(extensions.get(name), str):
                return str(extensions[name])
        return None


class RateLimitExceeded(GraphQLError):
    """Over the (tenant, application) rate limit or daily quota (``RATE_LIMITED``);
    ``retry_after`` is the server's wait in seconds, if it gave one."""

    def __init__(
        self,
        errors: Sequence[dict[str, Any]],
        status: int,
        request_id: str | None = None,
        data: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(errors, status, request_id, data)
        self.retry_after = retry_after


class AppNotAvailable(TenantgateError, LookupError):
    """The app is not among the ones this token may use (``urls.apps``)."""

    def __init__(self, app: str, available: Sequence[str]) -> None:
        names = ", ".join(available) or "none"
        super().__init__(f"app {app!r} is not available to this token (available: {names})")
        self.app = app
        self.available = list(available)


class MissingSetting(TenantgateError, ValueError):
    """A required setting (such as an environment variable) is absent."""


class TransportError(TenantgateError):
    """The request did not get an answer: connection refused, DNS failure, timeout."""


def _summary(errors: Sequence[dict[str, Any]]) -> str:
    messages = [str(error.get("message", error)) for error in errors if isinstance(error, dict)]
    return "; ".join(messages) or "GraphQL error"


def _code(error: dict[str, Any]) -> str | None:
    extensions = error.get("extensions")
    return extensions.get("code") if isinstance(extensions, dict) else None
