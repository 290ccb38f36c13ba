"""The gateway's rate limits and quotas in Redis, so that they hold for the deployment as a
whole: one Lua script per request (``ratelimit.decide`` in Lua: the bucket and the day's count
read, checked and moved on together, atomically), one round trip.

The token endpoint's failure limits talk to Redis through redis-py
(:mod:`tenantgate.tokens.redis_windows`); the gateway cannot: a redis-py call cost about
110 µs of CPU here, half of what the gateway spends on a whole request. So this module speaks
RESP itself over one pipelined connection (an asyncio protocol, like the gateway's upstream
client): a call is one write and one reply parsed from the read buffer, about a tenth of that.
Every call is bounded by ``timeout``, connecting included; a connection that timed out is
dropped, so the next call starts afresh; calls are never retried here
(:class:`tenantgate.gateway.ratelimit.RateLimiter` falls back to memory)."""

from __future__ import annotations

import asyncio
from collections import deque
from hashlib import sha1
from urllib.parse import unquote, urlsplit

from tenantgate.gateway.ratelimit import DAY, Outcome, SharedUnavailable, day_of
from tenantgate.registry.rates import Allowance

SCRIPT = b"""
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local capacity = tonumber(ARGV[3])
local daily = tonumber(ARGV[4])
local day_end = tonumber(ARGV[5])
local allowed, remaining, reset, retry = 1, -1, 0, 0
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local new_tat = tat
if interval > 0 then
  local start = math.max(tat, now)
  new_tat = start + interval
  local allow_at = new_tat - capacity * interval
  if allow_at > now then
    allowed, remaining, reset, retry = 0, 0, start - now, allow_at - now
  else
    remaining, reset = math.floor((now - allow_at) / interval + 0.01), new_tat - now
  end
end
local day_left = -1
if daily > 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if allowed == 1 and used >= daily then
    allowed, retry = 0, day_end - now
  end
  day_left = daily - used - allowed
end
if allowed == 1 then
  if interval > 0 then
    redis.call('SET', KEYS[1], string.format('%.6f', new_tat), 'PX',
      math.ceil((new_tat - now) * 1000) + 1000)
  end
  if daily > 0 then
    redis.call('INCR', KEYS[2])
    redis.call('EXPIRE', KEYS[2], math.ceil(day_end - now) + 60)
  end
end
if day_left < 0 and daily > 0 then day_left = 0 end
return {allowed, remaining, math.ceil(reset * 1000), day_left, math.ceil(retry * 1000)}
"""
SHA = sha1(SCRIPT).hexdigest().encode()


class RespError(Exception):
    """An error reply (``-ERR …``)."""


class _Link(asyncio.Protocol):
    """One connection: requests written in order, replies matched to them in order."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.replies: deque[asyncio.Future[object]] = deque()
        self.buffer = bytearray()
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def call(self, *args: bytes) -> asyncio.Future[object]:
        assert self.transport is not None
        reply: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.replies.append(reply)
        self.transport.write(_command(args))
        return reply

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.replies:
            try:
                parsed = _parse(self.buffer, 0)
            except (ConnectionError, ValueError):
                self.close()  # not RESP: connection_lost fails what waits
                return
            if parsed is None:
                return
            value, used = parsed
            del self.buffer[:used]
            reply = self.replies.popleft()
            if not reply.done():
                reply.set_result(value)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        while self.replies:
            reply = self.replies.popleft()
            if not reply.done():
                reply.set_exception(ConnectionError("redis connection lost"))

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()


class RedisRates:
    def __init__(self, url: str, *, prefix: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme != "redis":
            raise ValueError("the gateway's rate limits speak redis:// only")
        self._host = parts.hostname or "localhost"
        self._port = parts.port or 6379
        self._password = unquote(parts.password) if parts.password else None
        self._db = (parts.path or "/0").strip("/") or "0"
        self._prefix = prefix + "rate:"
        self._timeout = timeout
        self._link: _Link | None = None
        self._opening = asyncio.Lock()
        self.where = f"{self._host}:{self._port}"

    async def take(self, key: str, allowance: Allowance, now: float) -> Outcome:
        day = day_of(now)
        interval = 60 / allowance.per_minute if allowance.per_minute else 0.0
        capacity = allowance.capacity if allowance.per_minute else 0
        args = (
            b"2",
            f"{self._prefix}t:{key}".encode(),
            f"{self._prefix}d{day}:{key}".encode(),
            repr(now).encode(),
            repr(interval).encode(),
            str(capacity).encode(),
            str(allowance.daily or 0).encode(),
            str((day + 1) * DAY).encode(),
        )
        reply = await self._bounded(self._script(args))
        if not isinstance(reply, list) or len(reply) != 5:
            raise SharedUnavailable(f"unexpected reply {reply!r}"[:200])
        allowed, remaining, reset_ms, day_left, retry_ms = reply
        return Outcome(bool(allowed), remaining, reset_ms / 1000, day_left, retry_ms / 1000)

    async def ping(self) -> None:
        """Loads the script, so the first request does not."""
        await self._bounded(self._call(b"SCRIPT", b"LOAD", SCRIPT))

    async def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    async def _script(self, args: tuple[bytes, ...]) -> object:
        try:
            return await self._call(b"EVALSHA", SHA, *args)
        except RespError as error:
            if not str(error).startswith("NOSCRIPT"):
                raise
        return await self._call(b"EVAL", SCRIPT, *args)

    async def _call(self, *args: bytes) -> object:
        link = await self._connected()
        reply = await link.call(*args)
        if isinstance(reply, RespError):
            raise reply
        return reply

    async def _connected(self) -> _Link:
        link = self._link
        if link is not None and not link.lost:
            return link
        async with self._opening:
            if self._link is None or self._link.lost:
                self._link = await self._open()
            return self._link

    async def _open(self) -> _Link:
        loop = asyncio.get_running_loop()
        _, link = await loop.create_connection(_Link, self._host, self._port)
        if self._password is not None:
            await _checked(link.call(b"AUTH", self._password.encode()))
        if self._db != "0":
            await _checked(link.call(b"SELECT", self._db.encode()))
        return link

    async def _bounded(self, call: object) -> object:
        try:
            async with asyncio.timeout(self._timeout):
                return await call  # type: ignore[misc]
        except TimeoutError:
            await self.close()  # a reply may still come on it: start afresh
            raise SharedUnavailable(f"no answer within {self._timeout} s") from None
        except (OSError, ConnectionError, RespError) as error:
            await self.close()
            raise SharedUnavailable(f"{type(error).__name__}: {error}"[:200]) from None


async def _checked(reply: asyncio.Future[object]) -> None:
    value = await reply
    if isinstance(value, RespError):
        raise value


def _command(args: tuple[bytes, ...]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def _parse(buffer: bytearray, pos: int) -> tuple[object, int] | None:
    """One reply from ``buffer`` at ``pos``: ``(value, end)``, or ``None`` if it has not all
    arrived yet."""
    end = buffer.find(b"\r\n", pos)
    if end < 0:
        return None
    kind, line, pos = buffer[pos], bytes(buffer[pos + 1 : end]), end + 2
    if kind == 0x3A:  # ':' integer
        return int(line), pos
    if kind == 0x2B:  # '+' simple string
        return line.decode(), pos
    if kind == 0x2D:  # '-' error
        return RespError(line.decode(errors="replace")), pos
    if kind == 0x24:  # '$' bulk string
        size = int(line)
        if size < 0:
            return None, pos
        if len(buffer) < pos + size + 2:
            return None
        return bytes(buffer[pos : pos + size]), pos + size + 2
    if kind == 0x2A:  # '*' array
        items: list[object] = []
        for _ in range(max(int(line), 0)):
            parsed = _parse(buffer, pos)
            if parsed is None:
                return None
            items.append(parsed[0])
            pos = parsed[1]
        return items, pos
    raise ConnectionError(f"not RESP: {bytes(buffer[:20])!r}")
