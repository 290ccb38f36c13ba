"""Who is calling: the gateway's ``X-Tenant-Id`` backed by a verified bearer token.

AccessError
├── Unauthenticated   401 UNAUTHENTICATED (no token, or a token that does not verify)
├── Forbidden         403 FORBIDDEN (a good token, but not for this tenant or this app)
└── Unavailable       503 SERVICE_UNAVAILABLE (the issuer's keys cannot be fetched)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenantgate.refapps.auth import InvalidToken, KeySetUnavailable, TokenVerifier

TENANT_HEADER = "x-tenant-id"


class AccessError(Exception):
    status_code = 401
    code = "UNAUTHENTICATED"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(AccessError):
    pass


class Forbidden(AccessError):
    status_code = 403
    code = "FORBIDDEN"


class Unavailable(AccessError):
    status_code = 503
    code = "SERVICE_UNAVAILABLE"


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    claims: Mapping[str, Any]


async def authenticate(
    headers: Mapping[str, str], verifier: TokenVerifier, app_name: str
) -> Principal:
    claims = await _verified_claims(bearer_token(headers), verifier)
    tenant_id = headers.get(TENANT_HEADER)
    if not tenant_id:
        raise Unauthenticated("the X-Tenant-Id header is missing")
    if claims.get("tenant_id") != tenant_id:
        raise Forbidden("the token is not valid for this tenant")
    if not _grants_app(claims.get("apps"), app_name):
        raise Forbidden(f"the token does not grant access to the app {app_name!r}")
    return Principal(tenant_id=tenant_id, claims=claims)


def bearer_token(headers: Mapping[str, str]) -> str:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("a bearer token is required")
    return token


async def _verified_claims(token: str, verifier: TokenVerifier) -> dict[str, Any]:
    try:
        return await verifier.verify(token)
    except InvalidToken as exc:
        raise Unauthenticated(str(exc)) from exc
    except KeySetUnavailable as exc:
        raise Unavailable("the token cannot be verified right now") from exc


def _grants_app(apps: object, app_name: str) -> bool:
    return isinstance(apps, list) and app_name in apps
