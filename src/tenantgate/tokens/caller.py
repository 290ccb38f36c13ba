"""Who is calling: the one caller-authentication rule of the token endpoint, revocation
(RFC 7009 §2.1) and introspection (RFC 7662 §2.1).

A caller is a client with its id and secret (form fields or HTTP Basic, RFC 6749 §2.3.1) or,
for introspection, the operator with the admin token. Every attempt goes through the same
failure limits (:mod:`tenantgate.tokens.ratelimit`): an address and client id that have been
failing wait first (``slow_down``), and a refusal counts against them, so a guess costs the
same on every endpoint. An operator's failures count for its address only, never in a client
id's window, so nobody can lock the operator out from elsewhere."""

from __future__ import annotations

import hmac
from types import TracebackType

from tenantgate.admin.token import AdminToken
from tenantgate.clock import Clock
from tenantgate.crypto import SecretHasher
from tenantgate.registry.state import ApplicationRecord, RegistryState, SecretRecord
from tenantgate.tokens.errors import InvalidClient, OAuthError, SlowDown
from tenantgate.tokens.ratelimit import FailureLimiter
from tenantgate.tokens.request import ClientCredentials


class Callers:
    def __init__(
        self,
        state: RegistryState,
        hasher: SecretHasher,
        limiter: FailureLimiter,
        clock: Clock,
        admin_token: AdminToken,
    ) -> None:
        self._state = state
        self._hasher = hasher
        self._limiter = limiter
        self._clock = clock
        self._admin_token = admin_token

    def attempt(self, who: str | None, address: str) -> Attempt:
        """``async with callers.attempt(client_id, address):`` around the checks of one
        request: raises :class:`SlowDown` before them while the caller must wait, and counts
        any OAuth refusal raised inside as a failure (``who=None``: the operator)."""
        return Attempt(self._limiter, who, address)

    def client(self, credentials: ClientCredentials) -> tuple[ApplicationRecord, str]:
        """The application whose secret this is, and the secret's id. A wrong, retired or
        expired secret and an unknown client get the same answer; only the audit reason
        differs. Memory only: one hash, one comparison per secret, the clock read only for a
        secret that has an expiry."""
        application = self._state.by_client_id.get(credentials.client_id)
        if application is None:
            raise InvalidClient(reason="unknown client")
        digest = self._hasher.hash(credentials.client_secret)
        secret = _matching_secret(application, digest)
        if secret is None:
            raise InvalidClient(reason="wrong or retired secret")
        if secret.expires_at is not None and secret.expires_at <= self._clock():
            raise InvalidClient(reason="secret_expired")
        if not application.active:
            raise InvalidClient(reason="application suspended")
        return application, secret.secret_id

    def operator(self, token: str | None) -> None:
        """The admin token, for introspection."""
        if not self._admin_token.matches(token):
            raise InvalidClient("The introspection credential is not valid.")


class Attempt:
    """One request's checks under the failure limits (see :meth:`Callers.attempt`)."""

    __slots__ = ("_address", "_limiter", "_who")

    def __init__(self, limiter: FailureLimiter, who: str | None, address: str) -> None:
        self._limiter, self._who, self._address = limiter, who, address

    async def __aenter__(self) -> None:
        wait = await self._limiter.retry_after(self._who, self._address)
        if wait is not None:
            raise SlowDown(wait)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, OAuthError):
            await self._limiter.fail(self._who, self._address)


def _matching_secret(application: ApplicationRecord, digest: str) -> SecretRecord | None:
    found = None
    for secret in application.secrets:
        if hmac.compare_digest(secret.secret_hash, digest) and secret.retired_at is None:
            found = secret
    return found
