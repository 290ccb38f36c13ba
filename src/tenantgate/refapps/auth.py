"""Verification of the access tokens the gateway forwards (RFC 9068 JWTs).

AuthError
├── InvalidToken        the token is not acceptable (HTTP 401)
└── KeySetUnavailable   the issuer's JWKS could not be fetched (HTTP 503)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

import httpx
import jwt

from tenantgate.refapps.clock import Clock

logger = logging.getLogger(__name__)

ACCEPTED_ALGORITHMS = frozenset({"EdDSA", "ES256"})
ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})


class AuthError(Exception):
    """Base of the errors raised while verifying a token."""


class InvalidToken(AuthError):
    """The token is malformed, unsigned by a known key, expired or meant for someone else."""


class KeySetUnavailable(AuthError):
    """The issuer's key set could not be fetched or read."""


class TokenVerifier(Protocol):
    async def verify(self, token: str) -> dict[str, Any]:
        """Return the token's claims, or raise :class:`AuthError`."""
        ...


class JWKSVerifier:
    """Verifies tokens against the issuer's JWKS (RFC 7517), as RFC 9068 §4 asks.

    The key set is fetched on first use and cached; it is refetched once it is older than
    ``max_age`` seconds, and when a token names an unknown ``kid`` (key rotation). Those
    unknown-kid refetches, and retries after a failed fetch, happen at most once per
    ``refetch_interval`` seconds. A failed refresh keeps the keys already known.
    """

    def __init__(
        self,
        jwks_url: str,
        audience: str = "tenantgate",
        issuer: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        refetch_interval: float = 10.0,
        max_age: float = 3600.0,
        leeway: float = 30.0,
        timeout: float = 5.0,
        clock: Clock = time.time,
    ) -> None:
        self._jwks_url = jwks_url
        self._audience = audience
        self._issuer = issuer
        self._refetch_interval = refetch_interval
        self._max_age = max_age
        self._leeway = leeway
        self._clock = clock
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._throttled_at: float | None = None
        self._attempts = 0
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> dict[str, Any]:
        header = _read_header(token)
        key = await self._key(header["kid"])
        claims = self._decode(token, key)
        self._check_lifetime(claims)
        return claims

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _key(self, kid: str) -> jwt.PyJWK:
        if self._is_stale() and self._may_refetch():
            await self._refresh(self._attempts)
        if self._fetched_at is None:
            raise KeySetUnavailable("the issuer's key set is not available")
        key = self._keys.get(kid)
        if key is None and self._may_refetch():
            await self._refresh(self._attempts, unknown_kid=True)
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("the token is signed by an unknown key")
        return key

    def _is_stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._max_age

    def _may_refetch(self) -> bool:
        return self._throttled_at is None or (
            self._clock() - self._throttled_at >= self._refetch_interval
        )

    async def _refresh(self, seen_attempts: int, unknown_kid: bool = False) -> None:
        async with self._lock:
            if self._attempts != seen_attempts:
                return
            self._attempts += 1
            now = self._clock()
            if unknown_kid:
                self._throttled_at = now
            try:
                self._keys = await self._fetch()
            except KeySetUnavailable:
                self._throttled_at = now
                logger.warning("cannot refresh the JWKS from %s", self._jwks_url, exc_info=True)
                return
            self._fetched_at = now

    async def _fetch(self) -> dict[str, jwt.PyJWK]:
        try:
            response = await self._client.get(self._jwks_url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise KeySetUnavailable(f"cannot fetch the JWKS: {exc}") from exc
        return parse_jwks(document)

    def _decode(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm_name],
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "require": ["exp", "aud"] + (["iss"] if self._issuer else []),
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(_describe(exc)) from exc

    def _check_lifetime(self, claims: Mapping[str, Any]) -> None:
        now = self._clock()
        exp = claims["exp"]
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise InvalidToken("the token's exp is not a number")
        if now >= exp + self._leeway:
            raise InvalidToken("the token has expired")
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and now + self._leeway < nbf:
            raise InvalidToken("the token is not valid yet")


def parse_jwks(document: object) -> dict[str, jwt.PyJWK]:
    """The usable signing keys of a JWKS document, by ``kid``."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeySetUnavailable("the JWKS document has no key list")
    keys = (_usable_key(entry) for entry in document["keys"])
    return {key.key_id: key for key in keys if key is not None and key.key_id}


def _usable_key(entry: object) -> jwt.PyJWK | None:
    if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
        return None
    try:
        key = jwt.PyJWK(entry)
    except jwt.PyJWTError:
        return None
    return key if key.algorithm_name in ACCEPTED_ALGORITHMS else None


def _read_header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("the token is not a JWT") from exc
    if str(header.get("typ", "")).lower() not in ACCEPTED_TYPES:
        raise InvalidToken("the token is not an access token (typ must be at+jwt)")
    if header.get("alg") not in ACCEPTED_ALGORITHMS:
        raise InvalidToken("the token's algorithm is not accepted")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise InvalidToken("the token has no key id")
    return header


def _describe(exc: jwt.PyJWTError) -> str:
    match exc:
        case jwt.InvalidSignatureError():
            return "the token's signature is invalid"
        case jwt.InvalidAudienceError():
            return "the token is not meant for this audience"
        case jwt.InvalidIssuerError():
            return "the token is not from the expected issuer"
        case jwt.MissingRequiredClaimError():
            return f"the token lacks the {exc.claim} claim"
        case _:
            return "the token is malformed"
