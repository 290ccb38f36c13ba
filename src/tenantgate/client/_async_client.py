"""The asyncio client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, ClassVar, Self

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


class AsyncClient(BaseClient):
    """The asyncio twin of ``Client``, over ``httpx.AsyncClient``; every call is awaited.

    ``sleep`` is a coroutine function (default ``asyncio.sleep``); ``auth`` serves
    ``httpx.AsyncClient``. Use ``async with`` to invalidate the token and close on exit.
    """

    is_async: ClassVar[bool] = True

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        tenant_id: str,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        cache: TokenCache | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        renew_margin: float = DEFAULT_RENEW_MARGIN,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        credentials = Credentials(token_url, client_id, client_secret, tenant_id)
        super().__init__(
            credentials, cache=cache, clock=clock, renew_margin=renew_margin, retry=retry
        )
        check_http_options(http, transport)
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
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

    async def token(self) -> Token:
        """The current token, fetched or renewed if needed."""
        return await self._token()

    async def app_url(self, app: str) -> str:
        """The GraphQL URL of ``app`` from the token's ``urls.apps``."""
        return (await self._token()).app_url(app)

    async def graphql(
        self,
        app: str,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """Run a GraphQL operation on ``app`` and return its ``data``."""
        payload = graphql_payload(query, variables, operation_name)
        url = await self.app_url(app)
        request = self._http.build_request("POST", url, json=payload, headers=ACCEPT)
        response = await self._send(request, auth=self.auth)
        self.rate_limit = rate_limit_of(response.headers)
        return graphql_data(response)

    async def invalidate(self) -> None:
        """Invalidate the cached token at ``urls.invalidateToken``; the next call gets another."""
        token = self._take_token()
        if token is None:
            return
        url = self._invalidate_url(token)
        response = await self._send(invalidate_request(self._http, url, token.access_token))
        check_invalidated(response, self._clock())

    async def aclose(self) -> None:
        """Close the HTTP client, if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._used:
                await self.invalidate()
        except TenantgateError as error:
            logger.warning("tenantgate: could not invalidate the token: %s", error)
        finally:
            await self.aclose()

    async def _token(self, stale: Token | None = None) -> Token:
        token = self._fresh(stale)
        if token is not None:
            return token
        async with self._cache.async_lock(self._key):
            token = self._fresh(stale)
            if token is not None:
                return token
            if stale is not None:
                self._cache.discard(self._key, stale)
            return self._keep(await self._fetch())

    async def _fetch(self) -> Token:
        attempt, waited = 0, 0.0
        while True:
            response = await self._send(token_request(self._http, self.credentials))
            try:
                return read_token(response, self._clock())
            except RateLimited as error:
                delay = self._retry_delay(error, attempt, waited)
            await self._sleep(delay)
            attempt, waited = attempt + 1, waited + delay

    async def _send(self, request: httpx.Request, auth: httpx.Auth | None = None) -> httpx.Response:
        try:
            return await self._http.send(request, auth=auth)
        except httpx.TransportError as exc:
            raise transport_error(request, exc) from exc
