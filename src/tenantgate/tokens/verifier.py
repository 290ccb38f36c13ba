"""Checks an access token against memory only: the signing keys, the invalidations, and the
registry's state. This is the gateway's hot path, so no database is touched here.

A token's signature is checked once; the decoded claims are then cached, keyed by the token,
until the token expires. Every call still checks what may change while a token lives:
invalidation, the API user's generation, the tenant's and the application's status."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from tenantgate.clock import Clock
from tenantgate.registry.state import ApiUserRecord, RegistryState, TenantRecord
from tenantgate.tokens.errors import InvalidToken, NotCurrent
from tenantgate.tokens.keys import ALGORITHM, KeyRing, SigningKey

_CLAIMS = ("iss", "sub", "aud", "iat", "exp", "jti", "tenant_id", "application_id", "apps", "gen")


@dataclass(frozen=True, slots=True)
class AccessClaims:
    jti: str
    client_id: str
    tenant_id: str
    application_id: str
    apps: frozenset[str]
    generation: int
    issued_at: int
    expires_at: int
    issuer: str
    audience: str
    scope: str


@dataclass(frozen=True, slots=True)
class Access:
    claims: AccessClaims
    tenant: TenantRecord
    api_user: ApiUserRecord


class TokenVerifier:
    def __init__(
        self,
        state: RegistryState,
        keys: KeyRing,
        clock: Clock,
        audience: str,
        cache_size: int = 50_000,
        current: Callable[[], bool] = lambda: True,
        max_lifetime: int = 900,
        leeway: float = 30.0,
    ) -> None:
        self._current = current
        self._max_lifetime = max_lifetime
        self._leeway = leeway
        self._state = state
        self._keys = keys
        self._clock = clock
        self._audience = audience
        self._cache: OrderedDict[str, AccessClaims] = OrderedDict()
        self._cache_size = cache_size

    def decode(self, token: str) -> AccessClaims:
        """Signature, type, audience and expiry; raises InvalidToken."""
        claims = self._cache.get(token)
        if claims is None:
            claims = self._decode(token)
            self._cache[token] = claims
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        if claims.expires_at <= self._clock():
            self._cache.pop(token, None)
            raise InvalidToken("expired")
        return claims

    def to_end(self, token: str) -> AccessClaims:
        """Whose token this is and until when, for invalidation and revocation: what ``decode``
        checks but the one rule that time lifts. A token issued past the leeway ahead of this
        node's clock (by a node whose clock runs ahead) is not live yet, but will be, so it
        must be possible to end it now. Not cached: the claims have not passed every check."""
        claims = self._cache.get(token) or self._decode(token, ahead=True)
        if claims.expires_at <= self._clock():
            raise InvalidToken("expired")
        return claims

    def verify(self, token: str) -> Access:
        """Everything: the token is live and its tenant still admits its application. Raises
        ``NotCurrent`` rather than answer from a memory that may be stale."""
        if not self._current():
            raise NotCurrent
        claims = self.decode(token)
        state = self._state
        if claims.jti in state.revoked:
            raise InvalidToken("invalidated")
        user = state.api_users.get((claims.tenant_id, claims.application_id))
        if user is None or not user.enabled or user.generation != claims.generation:
            raise InvalidToken("api user disabled or deleted")
        application = state.applications.get(claims.application_id)
        if application is None or not application.active:
            raise InvalidToken("application suspended")
        tenant = state.tenants.get(claims.tenant_id)
        if tenant is None or not tenant.active:
            raise InvalidToken("tenant suspended")
        return Access(claims, tenant, user)

    def forget(self, token: str) -> None:
        self._cache.pop(token, None)

    def _decode(self, token: str, *, ahead: bool = False) -> AccessClaims:
        if len(token) > 4096:
            raise InvalidToken("malformed")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed") from exc
        key = self._keys.keys.get(str(header.get("kid")))
        if key is None or header.get("alg") != ALGORITHM or header.get("typ") != "at+jwt":
            raise InvalidToken("unknown key or type")
        try:
            data = jwt.decode(
                token,
                key.public,
                algorithms=[ALGORITHM],
                audience=self._audience,
                options={"require": list(_CLAIMS), "verify_exp": False, "verify_iat": False},
            )
            claims = AccessClaims(
                jti=str(data["jti"]),
                client_id=str(data["sub"]),
                tenant_id=str(data["tenant_id"]),
                application_id=str(data["application_id"]),
                apps=frozenset(data["apps"]),
                generation=int(data["gen"]),
                issued_at=int(data["iat"]),
                expires_at=int(data["exp"]),
                issuer=str(data["iss"]),
                audience=self._audience,
                scope=str(data.get("scope", "")),
            )
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            raise InvalidToken("bad signature or claims") from exc
        return self._in_time(claims, key, ahead)

    def _in_time(self, claims: AccessClaims, key: SigningKey, ahead: bool) -> AccessClaims:
        """Time claims a valid signature does not vouch for: a key that leaked after its
        retirement, a token that lives longer than this server issues them, or one from the
        future (let through with ``ahead``)."""
        leeway = self._leeway
        if not key.signed_in_time(claims.issued_at, leeway):
            raise InvalidToken("signed after its key was retired")
        if claims.expires_at - claims.issued_at > self._max_lifetime + leeway:
            raise InvalidToken("lifetime too long")
        if not ahead and claims.issued_at > self._clock() + leeway:
            raise InvalidToken("issued in the future")
        return claims
