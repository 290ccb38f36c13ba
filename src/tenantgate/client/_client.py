"""The synchronous client."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from ._auth import TenantAuth
from ._base import (
    DEFAULT_RENEW_MARGIN,
    LIMITS,
    USER_AGENT,
    BaseClient,
    Clock,
    check_http_options,
    logger,
    transport_error,
)
from ._cache import TokenCache
from ._config import Credentials, RetryPolicy
from ._errors import RateLimited, TenantgateError
from ._graphql import ACCEPT, graphql_data, graphql_payload
from ._ratelimit import RateLimit, rate_limit_of
from ._tokens import Token, check_invalidated, invalidate_request, read_token, token_request


class Client(BaseClient):
    """A tenantgate client for one application and one tenant, over ``httpx.Client``.

    Gets a token on first use, keeps it in a cache shared with other clients of the same
    (token URL, client id, tenant), and renews it ``renew_margin`` seconds before it expires.
    As a context manager it invalidates its token and closes its HTTP client on exit.

    What touches the outside can be injected: ``http`` (an ``httpx.Client``, which the
    client then does not close) or ``transport`` for the one it makes, ``cache`` (default
    ``default_cache``), ``clock`` (seconds since the epoch), and ``sleep`` (used to honour
    ``Retry-After`` under ``retry``). ``auth`` is a ``TenantAuth`` for other httpx clients.
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        tenant_id: str,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        cache: TokenCache | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
        renew_margin: float = DEFAULT_RENEW_MARGIN,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        credentials = Credentials(token_url, client_id, client_secret, tenant_id)
        super().__init__(
            credentials, cache=cache, clock=clock, renew_margin=renew_margin, retry=retry
        )
        check_http_options(http, transport)
        self._owns_http = http is None
        self._http = http or httpx.Client(
            transport=transport, headers={"User-Agent": USER_AGENT}, limits=LIMITS
        )
        self._sleep = sleep
        self.auth = TenantAuth(self)
        self.rate_limit: RateLimit | None = None
        """The RateLimit headers of the last ``graphql`` answer, if it had any."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> Self:
        """A client configured by the ``TENANTGATE_*`` environment variables."""
        credentials = Credentials.from_env(environ)
        return cls(**vars(credentials), **options)

    def token(self) -> Token:
        """The current token, fetched or renewed if needed."""
        return self._token()

    def app_url(self, app: str) -> str:
        """The GraphQL URL of ``app`` from the token's ``urls.apps``."""
        return self._token().app_url(app)

    def graphql(
        self,
        app: str,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """Run a GraphQL operation on ``app`` and return its ``data``."""
        payload = graphql_payload(query, variables, operation_name)
        request = self._http.build_request("POST", self.app_url(app), json=payload, headers=ACCEPT)
        response = self._send(request, auth=self.auth)
        self.rate_limit = rate_limit_of(response.headers)
        return graphql_data(response)

    def invalidate(self) -> None:
        """Invalidate the cached token at ``urls.invalidateToken``; the next call gets another."""
        token = self._take_token()
        if token is None:
            return
        url = self._invalidate_url(token)
        response = self._send(invalidate_request(self._http, url, token.access_token))
        check_invalidated(response, self._clock())

    def close(self) -> None:
        """Close the HTTP client, if this client created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._used:
                self.invalidate()
        except TenantgateError as error:
            logger.warning("tenantgate: could not invalidate the token: %s", error)
        finally:
            self.close()

    def _token(self, stale: Token | None = None) -> Token:
        token = self._fresh(stale)
        if token is not None:
            return token
        with self._cache.lock(self._key):
            token = self._fresh(stale)
            if token is not None:
                return token
            if stale is not None:
                self._cache.discard(self._key, stale)
            return self._keep(self._fetch())

    def _fetch(self) -> Token:
        attempt, waited = 0, 0.0
        while True:
            response = self._send(token_request(self._http, self.credentials))
            try:
                return read_token(response, self._clock())
            except RateLimited as error:
                delay = self._retry_delay(error, attempt, waited)
            self._sleep(delay)
            attempt, waited = attempt + 1, waited + delay

    def _send(self, request: httpx.Request, auth: httpx.Auth | None = None) -> httpx.Response:
        try:
            return self._http.send(request, auth=auth)
        except httpx.TransportError as exc:
            raise transport_error(request, exc) from exc
