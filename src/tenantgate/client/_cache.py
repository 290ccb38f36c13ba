"""The token cache that clients in one process share, and its per-key locks."""

from __future__ import annotations

import asyncio
import threading
import weakref

from ._config import CacheKey
from ._tokens import Token


class TokenCache:
    """Tokens by (token URL, client id, tenant id).

    Clients given the same cache (by default ``default_cache``) share their tokens. Each key
    has one ``threading.Lock`` for sync clients and one ``asyncio.Lock`` per event loop for
    async clients, so that a token is renewed once however many callers find it expired.
    """

    def __init__(self) -> None:
        self._tokens: dict[CacheKey, Token] = {}
        self._locks: dict[CacheKey, threading.Lock] = {}
        self._async_locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[CacheKey, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()
        self._guard = threading.Lock()

    def get(self, key: CacheKey) -> Token | None:
        return self._tokens.get(key)

    def put(self, key: CacheKey, token: Token) -> None:
        self._tokens[key] = token

    def discard(self, key: CacheKey, token: Token | None = None) -> None:
        """Forget the key's token; with ``token``, only if it is still that one."""
        with self._guard:
            cached = self._tokens.get(key)
            if cached is not None and (token is None or cached.access_token == token.access_token):
                del self._tokens[key]

    def clear(self) -> None:
        with self._guard:
            self._tokens.clear()

    def lock(self, key: CacheKey) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def async_lock(self, key: CacheKey) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._guard:
            locks = self._async_locks.setdefault(loop, {})
            return locks.setdefault(key, asyncio.Lock())


default_cache = TokenCache()
"""The cache that clients use unless they are given another."""
