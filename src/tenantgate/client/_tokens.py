"""Access tokens: the request that gets one (RFC 6749 §4.4), its answer, and invalidation."""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from ._config import Credentials
from ._errors import (
    AccessDenied,
    AppNotAvailable,
    InvalidClient,
    InvalidRequest,
    InvalidScope,
    RateLimited,
    TokenError,
    UnsupportedGrantType,
)

_ERRORS: dict[str, type[TokenError]] = {
    "invalid_client": InvalidClient,
    "access_denied": AccessDenied,
    "invalid_request": InvalidRequest,
    "invalid_scope": InvalidScope,
    "unsupported_grant_type": UnsupportedGrantType,
}
_ACCEPT_JSON = {"Accept": "application/json"}

HTTPClient = httpx.Client | httpx.AsyncClient


@dataclass(frozen=True)
class Token:
    """A Token API answer. ``raw`` is the JSON body exactly as received."""

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int | None
    expires_at: datetime | None
    scope: str
    tenant_id: str
    apps: Mapping[str, str]
    invalidate_url: str | None
    raw: Mapping[str, Any] = field(repr=False)
    received_at: float = field(repr=False)
    deadline: float = field(repr=False)

    def app_url(self, app: str) -> str:
        """The GraphQL URL of ``app`` as listed in ``urls.apps``."""
        try:
            return self.apps[app]
        except KeyError:
            raise AppNotAvailable(app, sorted(self.apps)) from None

    def needs_renewal(self, now: float, margin: float) -> bool:
        """True from ``margin`` seconds before expiry (at most half the token's lifetime)."""
        lifetime = self.deadline - self.received_at
        return now >= self.deadline - min(margin, lifetime / 2)


def token_request(http: HTTPClient, credentials: Credentials) -> httpx.Request:
    """The client credentials grant, authenticated by ``client_secret_post``."""
    form = {
        "grant_type": "client_credentials",
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "scope": credentials.scope,
    }
    return http.build_request("POST", credentials.token_url, data=form, headers=_ACCEPT_JSON)


def read_token(response: httpx.Response, now: float) -> Token:
    """The token of a 200 answer; any other answer raises the matching ``TokenError``."""
    if response.status_code != 200:
        raise token_error(response, now)
    body = _json_object(response)
    if body is None or not isinstance(body.get("access_token"), str):
        raise TokenError("invalid_response", "the token response has no access_token", 200)
    return _token(body, now)


def invalidate_request(http: HTTPClient, url: str, access_token: str) -> httpx.Request:
    """``DELETE`` with ``x-tokens: accessToken=<token>``, as the contract describes."""
    headers = {"x-tokens": f"accessToken={access_token}", **_ACCEPT_JSON}
    return http.build_request("DELETE", url, headers=headers)


def check_invalidated(response: httpx.Response, now: float) -> None:
    if not response.is_success:
        raise token_error(response, now)


def token_error(response: httpx.Response, now: float) -> TokenError:
    """The ``TokenError`` subclass named by the RFC 6749 §5.2 ``error`` code."""
    body = _json_object(response) or {}
    error = str(body.get("error") or "invalid_response")
    description = str(body.get("error_description") or f"HTTP {response.status_code}")
    status = response.status_code
    if error == "slow_down" or status == 429:
        wait = retry_after(response.headers.get("retry-after"), now)
        return RateLimited(error, description, status, wait)
    return _ERRORS.get(error, TokenError)(error, description, status)


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP-date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


def _token(body: Mapping[str, Any], now: float) -> Token:
    urls = body.get("urls")
    urls = urls if isinstance(urls, dict) else {}
    expires_in = _int(body.get("expires_in"))
    expires_at = _datetime(body.get("expires_at"))
    return Token(
        access_token=body["access_token"],
        token_type=str(body.get("token_type", "Bearer")),
        expires_in=expires_in,
        expires_at=expires_at,
        scope=str(body.get("scope", "")),
        tenant_id=str(body.get("tenant_id", "")),
        apps=_app_urls(urls.get("apps")),
        invalidate_url=urls.get("invalidateToken"),
        raw=body,
        received_at=now,
        deadline=_deadline(expires_in, expires_at, now),
    )


def _deadline(expires_in: int | None, expires_at: datetime | None, now: float) -> float:
    """The earlier of ``expires_at`` and receipt + ``expires_in``, by the local clock.

    An ``expires_at`` already past by the local clock is taken for clock skew and ignored.
    """
    candidates = [now + expires_in] if expires_in is not None else []
    if expires_at is not None and expires_at.timestamp() > now:
        candidates.append(expires_at.timestamp())
    if not candidates:
        raise TokenError("invalid_response", "the token response has no usable expiry", 200)
    return min(candidates)


def _app_urls(apps: Any) -> dict[str, str]:
    if not isinstance(apps, dict):
        return {}
    return {
        name: entry["graphQL"]
        for name, entry in apps.items()
        if isinstance(entry, dict) and isinstance(entry.get("graphQL"), str)
    }


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
