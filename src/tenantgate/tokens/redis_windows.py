"""The failure windows in Redis, so that the limits hold for the deployment as a whole.

Each key is a list of the last ``limit`` failure times (a sliding log, as in this node's
memory): a failure appends and trims, a check reads the ``limit``-th newest time. Each is one
Lua script, so one round trip and atomic whatever the other nodes do; the times are the nodes'
clocks, and ``EXPIRE`` only lets a window go once it cannot matter. Every call is bounded by
``timeout`` (connecting included) and never retried here: a slow Redis is the limiter's cue to
count in memory (:class:`tenantgate.tokens.ratelimit.FailureLimiter`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from tenantgate.tokens.ratelimit import Counter, SharedUnavailable

MAX_CONNECTIONS = 32

# KEYS: the windows; ARGV: now, window, then each key's limit. Returns the wait, in seconds.
WAIT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait = 0
for i, key in ipairs(KEYS) do
  local nth = redis.call('LINDEX', key, -tonumber(ARGV[i + 2]))
  if nth then
    local left = tonumber(nth) + window - now
    if left > wait then wait = left end
  end
end
return tostring(wait)
"""

ADD = """
local ttl = math.ceil(tonumber(ARGV[2])) + 1
for i, key in ipairs(KEYS) do
  redis.call('RPUSH', key, ARGV[1])
  redis.call('LTRIM', key, -tonumber(ARGV[i + 2]), -1)
  redis.call('EXPIRE', key, ttl)
end
return 0
"""

T = TypeVar("T")


class RedisWindows:
    def __init__(self, url: str, *, prefix: str, window: float, timeout: float) -> None:
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=timeout,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._redis = Redis.from_pool(pool)
        self._wait = self._redis.register_script(WAIT)
        self._add = self._redis.register_script(ADD)
        self._prefix = prefix + "fail:"
        self._window = repr(window)
        self._timeout = timeout
        kwargs = pool.connection_kwargs
        self.where = str(
            kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
        )

    async def wait(self, counters: Sequence[Counter], now: float) -> float:
        keys, args = self._call(counters, now)
        return float(await self._bounded(self._wait(keys=keys, args=args)))

    async def add(self, counters: Sequence[Counter], now: float) -> None:
        keys, args = self._call(counters, now)
        await self._bounded(self._add(keys=keys, args=args))

    async def ping(self) -> None:
        """Loads both scripts, so the first request does not."""
        await self._bounded(self._redis.script_load(WAIT))
        await self._bounded(self._redis.script_load(ADD))

    async def close(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.aclose()
        except (RedisError, OSError, TimeoutError):
            pass

    def _call(self, counters: Sequence[Counter], now: float) -> tuple[list[str], list[Any]]:
        keys = [self._prefix + key for key, _ in counters]
        return keys, [repr(now), self._window, *[limit for _, limit in counters]]

    async def _bounded(self, call: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self._timeout):
                return await call
        except TimeoutError:
            raise SharedUnavailable(f"no answer within {self._timeout} s") from None
        except (RedisError, OSError) as error:
            raise SharedUnavailable(f"{type(error).__name__}: {error}"[:200]) from None
