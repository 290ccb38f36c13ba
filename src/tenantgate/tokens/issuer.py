"""Issuing access tokens: the client credentials grant (RFC 6749 §4.4) with the tenant named
in the scope, and JWT access tokens (RFC 9068).

The rules read only memory; the one write, the audit row of the issuance, joins a group
commit, and the response waits for that commit so that every token answered is on record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tenantgate.clock import Clock, Randomness
from tenantgate.metrics import Metrics
from tenantgate.registry.feed import ChangeFeed
from tenantgate.registry.state import (
    ApiUserRecord,
    ApplicationRecord,
    RegistryState,
    TenantRecord,
)
from tenantgate.storage.audit import audit_row
from tenantgate.storage.batch import BatchWriter, StorageUnavailable
from tenantgate.storage.refusals import RefusalTally
from tenantgate.tokens.caller import Callers
from tenantgate.tokens.errors import AccessDenied, OAuthError, TemporarilyUnavailable
from tenantgate.tokens.keys import KeyRing
from tenantgate.tokens.request import TokenRequest


@dataclass(frozen=True, slots=True)
class Grant:
    application: ApplicationRecord
    secret_id: str
    tenant: TenantRecord
    api_user: ApiUserRecord
    apps: list[str]


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def authorize(
    state: RegistryState, application: ApplicationRecord, tenant_id: str
) -> tuple[TenantRecord, ApiUserRecord]:
    tenant = state.tenants.get(tenant_id)
    if tenant is None:
        raise AccessDenied(reason="unknown tenant")
    if not tenant.active:
        raise AccessDenied(reason="tenant suspended")
    user = state.api_users.get((tenant_id, application.application_id))
    if user is None:
        raise AccessDenied(reason="no API user for this application")
    if not user.enabled:
        raise AccessDenied(reason="API user disabled")
    return tenant, user


class TokenIssuer:
    def __init__(
        self,
        *,
        state: RegistryState,
        feed: ChangeFeed,
        keys: KeyRing,
        callers: Callers,
        batch: BatchWriter,
        refusals: RefusalTally,
        clock: Clock,
        randomness: Randomness,
        ttl: int,
        audience: str,
        metrics: Metrics,
    ) -> None:
        self._state = state
        self._feed = feed
        self._metrics = metrics
        self._keys = keys
        self._callers = callers
        self._batch = batch
        self._refusals = refusals
        self._clock = clock
        self._random = randomness
        self._ttl = ttl
        self._audience = audience
        self._last_expiry = (0, _iso(0))

    async def issue(
        self,
        request: TokenRequest,
        address: str,
        issuer: str,
        urls: Callable[[TenantRecord, list[str]], dict[str, Any]],
    ) -> dict[str, Any]:
        if not self._feed.is_current():
            self._metrics.stale_refusals("token")
            raise TemporarilyUnavailable("not current", self._feed.retry_after())
        client_id = request.credentials.client_id[:64]
        known = self._state.by_client_id.get(request.credentials.client_id)
        app_id = known.application_id if known else None
        try:
            async with self._callers.attempt(client_id, address):
                application, secret_id = self._callers.client(request.credentials)
                tenant, user = authorize(self._state, application, request.tenant_id)
        except OAuthError as error:
            self._refuse(error, client_id, app_id, request.tenant_id, address)
            raise
        grant = Grant(application, secret_id, tenant, user, user.allowed_apps(tenant))
        return await self._grant(grant, address, issuer, urls)

    async def _grant(
        self,
        grant: Grant,
        address: str,
        issuer: str,
        urls: Callable[[TenantRecord, list[str]], dict[str, Any]],
    ) -> dict[str, Any]:
        now = self._clock()
        iat = int(now)
        exp = iat + self._ttl
        jti = self._random.urlsafe(22)
        tenant_id = grant.tenant.tenant_id
        application_id = grant.application.application_id
        claims = {
            "iss": issuer,
            "sub": grant.application.client_id,
            "client_id": grant.application.client_id,
            "aud": self._audience,
            "iat": iat,
            "exp": exp,
            "jti": jti,
            "scope": f"tenantid:{tenant_id}",
            "tenant_id": tenant_id,
            "application_id": application_id,
            "apps": grant.apps,
            "gen": grant.api_user.generation,
        }
        signing = self._keys.signing
        assert signing is not None
        token = signing.sign(claims)
        row = audit_row(
            "token.issued",
            f"client:{grant.application.client_id}",
            now,
            tenant_id=tenant_id,
            application_id=application_id,
            jti=jti,
            exp=exp,
            apps=grant.apps,
            address=address,
        )
        touches = {
            ("application", application_id): now,
            ("secret", grant.secret_id): now,
            ("api_user", f"{tenant_id}/{application_id}"): now,
        }
        try:
            await self._batch.write(row, touches)
        except StorageUnavailable:
            raise TemporarilyUnavailable() from None
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self._ttl,
            "expires_at": self._expires_at(exp),
            "scope": f"tenantid:{tenant_id}",
            "tenant_id": tenant_id,
            "urls": urls(grant.tenant, grant.apps),
        }

    def _expires_at(self, exp: int) -> str:
        """ISO 8601, formatted once per second rather than once per token."""
        cached = self._last_expiry
        if cached[0] != exp:
            cached = self._last_expiry = (exp, _iso(exp))
        return cached[1]

    def _refuse(
        self,
        error: OAuthError,
        client_id: str,
        application_id: str | None,
        tenant_id: str,
        address: str,
    ) -> None:
        row = audit_row(
            "token.refused",
            f"client:{client_id}",
            self._clock(),
            tenant_id=tenant_id[:64],
            application_id=application_id,
            reason=error.reason,
            error=error.error,
            address=address,
        )
        self._refusals.add(row)
