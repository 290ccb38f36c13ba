"""What the sync and async clients share: configuration and the token cache rules."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import ClassVar

import httpx

from .. import __version__
from ._cache import TokenCache, default_cache
from ._config import CacheKey, Credentials, RetryPolicy
from ._errors import RateLimited, TransportError
from ._tokens import Token

Clock = Callable[[], float]
DEFAULT_RENEW_MARGIN = 60.0
USER_AGENT = f"tenantgate-client/{__version__}"
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
"""As many idle connections kept as may be open: with fewer (httpx's default keeps 20), the
sync pool closes surplus idle connections, and under many threads it can close one already
handed to a waiting request, which then fails with EBADF (seen with 100 threads here)."""

logger = logging.getLogger("tenantgate.client")


class BaseClient:
    is_async: ClassVar[bool] = False

    def __init__(
        self,
        credentials: Credentials,
        *,
        cache: TokenCache | None,
        clock: Clock | None,
        renew_margin: float,
        retry: RetryPolicy,
    ) -> None:
        self.credentials = credentials
        self._cache = default_cache if cache is None else cache
        self._clock = clock or time.time
        self._renew_margin = renew_margin
        self._retry = retry
        self._used = False

    def __repr__(self) -> str:
        who = f"client_id={self.credentials.client_id!r} tenant_id={self.credentials.tenant_id!r}"
        return f"<{type(self).__name__} {who}>"

    @property
    def _key(self) -> CacheKey:
        return self.credentials.cache_key

    def _fresh(self, stale: Token | None = None) -> Token | None:
        """The cached token, unless it is due for renewal or is the ``stale`` one."""
        token = self._cache.get(self._key)
        if token is None or token.needs_renewal(self._clock(), self._renew_margin):
            return None
        if stale is not None and token.access_token == stale.access_token:
            return None
        self._used = True
        return token

    def _keep(self, token: Token) -> Token:
        self._cache.put(self._key, token)
        self._used = True
        return token

    def _retry_delay(self, error: RateLimited, attempt: int, waited: float) -> float:
        delay = self._retry.delay(attempt, error.retry_after, waited)
        if delay is None:
            raise error
        return delay

    def _take_token(self) -> Token | None:
        """Remove this client's token from the cache, for invalidation."""
        token = self._cache.get(self._key)
        if token is not None:
            self._cache.discard(self._key, token)
        return token

    def _invalidate_url(self, token: Token) -> str:
        return token.invalidate_url or self.credentials.token_url


def transport_error(request: httpx.Request, exc: httpx.TransportError) -> TransportError:
    origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
    return TransportError(f"cannot reach {origin}: {str(exc) or type(exc).__name__}")


def check_http_options(http: object | None, transport: object | None) -> None:
    if http is not None and transport is not None:
        raise ValueError("pass either http or transport, not both")
