"""The gateway's rate limits and quotas in Redis, so that they hold for the deployment as a
whole: ``ratelimit.decide`` in Lua, the caller's bucket and day's count read, checked and
moved on together, atomically, in one hash per caller. Every request is counted there.

A request need not wait for its count. Where Redis's last answer for the caller is recent
(:data:`FRESH`) and left more than a tenth of the bucket and of the day's quota, less what this
node admitted since, the request is admitted at once; otherwise, near a limit, after a while
or for a limit under ten, the request waits for Redis's decision. So a node admits at most a
tenth of a limit ahead of what Redis has told it, and a caller far from its limits pays no
round trip. The counts of the requests admitted so are gathered per caller for
:data:`COUNT_DELAY` (or until a decision is sent, whichever comes first) and sent as one:
counted whatever Redis then finds, in one step of the script, whose answer tells the node
where the caller stands. A busy caller costs Redis one script step per node and
:data:`COUNT_DELAY`, not one per request.

The token endpoint's failure limits talk to Redis through redis-py
(:mod:`tenantgate.tokens.redis_windows`); the gateway cannot: a redis-py call cost about
110 µs of CPU here, as much as the gateway spends on a whole request. So this module speaks
RESP itself over one connection (an asyncio protocol, like the gateway's upstream client),
and batches: a decision is sent at once when no other is on its way to Redis, and those that
arrive while one is are sent together, as one script call, as soon as its answer is in. Each
is still decided on its own, in the order it came, within one atomic script run.

Every batch is bounded by ``timeout``, and so is connecting; a batch that timed out drops the
connection (its answer may still come), so the next request starts afresh; nothing is retried
here (:class:`tenantgate.gateway.ratelimit.RateLimiter` falls back to memory, also when a
count sent without waiting failed: the next request says so)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from hashlib import sha1
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from tenantgate.gateway.ratelimit import Outcome, SharedUnavailable
from tenantgate.registry.rates import Allowance

SCRIPT = b"""
local out = {}
for i = 1, #KEYS do
  local at = (i - 1) * 5
  local now = tonumber(ARGV[at + 1])
  local interval = tonumber(ARGV[at + 2])
  local capacity = tonumber(ARGV[at + 3])
  local daily = tonumber(ARGV[at + 4])
  local counted = tonumber(ARGV[at + 5])
  local cost = math.max(counted, 1)
  local day = math.floor(now / 86400)
  local state = redis.call('HMGET', KEYS[i], 't', 'd', 'u', 'x')
  local tat = tonumber(state[1]) or 0
  local used = 0
  if tonumber(state[2]) == day then used = tonumber(state[3]) or 0 end
  local allowed, remaining, reset, retry = 1, -1, 0, 0
  local new_tat = tat
  if interval > 0 then
    local start = math.max(tat, now)
    new_tat = start + cost * interval
    local allow_at = new_tat - capacity * interval
    if allow_at > now then
      allowed, remaining, reset, retry = 0, 0, start - now, allow_at - now
    else
      remaining, reset = math.floor((now - allow_at) / interval + 0.01), new_tat - now
    end
  end
  local day_left = -1
  if daily > 0 then
    if allowed == 1 and used + cost > daily then
      allowed, retry = 0, (day + 1) * 86400 - now
    end
  end
  if allowed == 0 and counted == 0 then cost = 0 end
  if daily > 0 then day_left = math.max(daily - used - cost, 0) end
  if cost > 0 then
    local needed = new_tat
    if daily > 0 then needed = math.max(needed, (day + 1) * 86400 + 60) end
    local expires = tonumber(state[4]) or 0
    if needed > expires then
      expires = math.ceil(needed + 60)
      redis.call('HSET', KEYS[i], 't', new_tat, 'd', day, 'u', used + cost, 'x', expires)
      redis.call('PEXPIRE', KEYS[i], math.ceil((expires - now) * 1000))
    else
      redis.call('HSET', KEYS[i], 't', new_tat, 'd', day, 'u', used + cost)
    end
  end
  out[i] = allowed .. ' ' .. remaining .. ' ' .. math.ceil(reset * 1000) .. ' ' .. day_left
    .. ' ' .. math.ceil(retry * 1000)
end
return table.concat(out, '\\n')
"""
SHA = sha1(SCRIPT).hexdigest().encode()
ARGS_PER_REQUEST = 5
MAX_BATCH = 64
"""Requests per script call: a script holds Redis while it runs (about 15 µs a request)."""

Reply = Callable[[object], None]
T = TypeVar("T")


FRESH = 0.05
"""Seconds for which Redis's last answer for a caller is recent enough to admit by."""
COUNT_DELAY = 0.005
"""Seconds for which the counts of requests admitted without waiting are gathered, per caller,
before they are sent (sooner if a decision is sent first): one script call, and one
decision of the script per caller, for every request admitted in that time."""
SHARE = 10
"""A node admits ahead of Redis by at most a tenth of the bucket (and of the day's quota)."""
MAX_HEARD = 100_000


@dataclass(slots=True)
class _Heard:
    """What Redis last answered for one caller, and the requests this node admitted since
    without waiting, whose counts are still on their way."""

    at: float
    outcome: Outcome
    ahead: int = 0

    def learn(self, at: float, outcome: Outcome) -> None:
        if at >= self.at:
            self.at, self.outcome = at, outcome

    def leaves_room(self, allowance: Allowance, now: float) -> bool:
        """Whether a request may be admitted now without waiting for Redis: the last answer
        is recent and allowed, and what it left, less what was admitted since, stays above a
        tenth of the limit, as does the number admitted ahead. A bucket or quota of less than
        ten always waits, so small limits are exact."""
        outcome = self.outcome
        if not outcome.allowed or now - self.at > FRESH or now < self.at:
            return False
        for limit, left in (
            (
                allowance.capacity if allowance.per_minute is not None else None,
                outcome.rate_remaining,
            ),
            (allowance.daily, outcome.day_remaining),
        ):
            if limit is not None:
                margin = limit // SHARE
                if self.ahead >= margin or left - self.ahead <= margin:
                    return False
        return True

    def guess(self) -> Outcome:
        """The outcome of a request admitted ahead: what Redis last said, less those ahead."""
        o = self.outcome
        rate = o.rate_remaining - self.ahead if o.rate_remaining >= 0 else -1
        day = o.day_remaining - self.ahead if o.day_remaining >= 0 else -1
        return Outcome(True, rate, o.rate_reset, day, 0.0)


@dataclass(slots=True, eq=False)
class _Counts:
    """Requests of one caller admitted without waiting whose count has not been sent yet; the
    script's answer to their count settles ``counted``."""

    limits: tuple[bytes, ...]
    now: float
    n: int
    counted: asyncio.Future[bytes]


class RespError(Exception):
    """An error reply (``-ERR …``)."""


class _Link(asyncio.Protocol):
    """One connection: commands written in order, replies handed to their callbacks in order;
    rate decisions gathered into batches, at most one batch on its way at a time."""

    def __init__(self, timeout: float) -> None:
        self.transport: asyncio.Transport | None = None
        self.replies: deque[Reply] = deque()
        self.buffer = bytearray()
        self.lost = False
        self._why = "redis connection lost"
        self._timeout = timeout
        self._sent = 0
        self._waiters: list[asyncio.Future[bytes]] = []
        self._keys: list[bytes] = []
        self._argv: list[bytes] = []
        self._counts: dict[tuple[bytes, tuple[bytes, ...]], _Counts] = {}
        self._counts_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._loop = asyncio.get_running_loop()

    def call(self, *args: bytes) -> asyncio.Future[object]:
        reply: asyncio.Future[object] = self._loop.create_future()
        self._write(args, partial(_settle, reply))
        return reply

    def decide(self, key: bytes, argv: tuple[bytes, ...]) -> asyncio.Future[bytes]:
        """The script's line for one request, once its batch is answered."""
        waiter: asyncio.Future[bytes] = self._loop.create_future()
        self._waiters.append(waiter)
        self._keys.append(key)
        self._argv.extend(argv)
        if not self._sent:
            self._flush()
        return waiter

    def count(self, key: bytes, now: float, limits: tuple[bytes, ...]) -> _Counts | None:
        """Counts a request admitted without waiting, with the others of its caller and
        allowance (``limits``: the script's interval, capacity and quota), within
        :data:`COUNT_DELAY`: the new gathering, or ``None`` if the request joined one."""
        pending = self._counts.get((key, limits))
        if pending is not None:
            pending.now = max(pending.now, now)
            pending.n += 1
            return None
        pending = _Counts(limits, now, 1, self._loop.create_future())
        self._counts[key, limits] = pending
        if self._counts_timer is None:
            self._counts_timer = self._loop.call_later(COUNT_DELAY, self._counts_ready)
        return pending

    def send_counts(self) -> list[asyncio.Future[bytes]]:
        """Sends what is gathered now, whether or not a batch is on its way (closing)."""
        counted = [pending.counted for pending in self._counts.values()]
        if counted:
            self._flush()
        return counted

    def _counts_ready(self) -> None:
        self._counts_timer = None  # counts left with no timer are due: the next answer sends them
        if not self._sent:
            self._flush()  # on a lost link, fails them

    def _flush(self) -> None:
        if self._counts_timer is not None:
            self._counts_timer.cancel()
            self._counts_timer = None
        counts, self._counts = self._counts, {}
        waiters: list[asyncio.Future[bytes]] = []
        keys: list[bytes] = []
        argv: list[bytes] = []
        for (key, _), pending in counts.items():  # counts first: decisions then see them
            waiters.append(pending.counted)
            keys.append(key)
            argv.extend((repr(pending.now).encode(), *pending.limits, b"%d" % pending.n))
        waiters += self._waiters
        keys += self._keys
        argv += self._argv
        self._waiters, self._keys, self._argv = [], [], []
        for start in range(0, len(waiters), MAX_BATCH):
            end = start + MAX_BATCH
            batch = (
                waiters[start:end],
                keys[start:end],
                argv[start * ARGS_PER_REQUEST : end * ARGS_PER_REQUEST],
            )
            self._send(*batch, script=False)

    def _send(
        self,
        waiters: list[asyncio.Future[bytes]],
        keys: list[bytes],
        argv: list[bytes],
        *,
        script: bool,
    ) -> None:
        head = (b"EVAL", SCRIPT) if script else (b"EVALSHA", SHA)
        timer = self._loop.call_later(self._timeout, self._expired)
        self._sent += 1
        answered = partial(self._answered, waiters, keys, argv, timer, script)
        self._write((*head, b"%d" % len(keys), *keys, *argv), answered)

    def _answered(
        self,
        waiters: list[asyncio.Future[bytes]],
        keys: list[bytes],
        argv: list[bytes],
        timer: asyncio.TimerHandle,
        script: bool,
        value: object,
    ) -> None:
        timer.cancel()
        self._sent -= 1
        lost_script = isinstance(value, RespError) and str(value).startswith("NOSCRIPT")
        if lost_script and not script and not self.lost:
            self._send(waiters, keys, argv, script=True)  # Redis forgot it: send it whole
            return
        lines = value.split(b"\n") if isinstance(value, bytes) else []
        if len(lines) == len(waiters):
            for waiter, line in zip(waiters, lines, strict=True):
                if not waiter.done():
                    waiter.set_result(line)
        else:
            failure = value if isinstance(value, Exception) else None
            why = str(failure) if failure else f"unexpected reply {value!r}"[:200]
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(SharedUnavailable(why))
        counts_due = self._counts and self._counts_timer is None
        if not self._sent and (self._waiters or counts_due) and not self.lost:
            self._flush()

    def _expired(self) -> None:
        self.close(f"no answer within {self._timeout} s")

    def _write(self, args: tuple[bytes, ...], reply: Reply) -> None:
        if self.lost or self.transport is None:
            reply(ConnectionError(self._why))
            return
        self.replies.append(reply)
        self.transport.write(_command(args))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.replies:
            try:
                parsed = _parse(self.buffer, 0)
            except (ConnectionError, ValueError):
                self.close("not RESP")  # connection_lost fails what waits
                return
            if parsed is None:
                return
            value, used = parsed
            del self.buffer[:used]
            self.replies.popleft()(value)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        failure = ConnectionError(self._why)
        while self.replies:
            self.replies.popleft()(failure)
        self._flush()  # what waits to be sent fails the same way: the link is lost

    def close(self, why: str = "redis connection closed") -> None:
        if not self.lost:
            self._why = why
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
        self._allowances: dict[Allowance, tuple[bytes, bytes, bytes]] = {}
        self._heard: dict[tuple[str, Allowance], _Heard] = {}
        self._broken: str | None = None
        self.where = f"{self._host}:{self._port}"

    async def take(self, key: str, allowance: Allowance, now: float) -> Outcome:
        if self._broken is not None:  # a count sent without waiting failed
            why, self._broken = self._broken, None
            raise SharedUnavailable(why)
        link = self._link
        if link is None or link.lost:
            link = await self._bounded(self._connected())
        name = (self._prefix + key).encode()
        limits = self._argv(allowance)
        heard = self._heard.get((key, allowance))
        if heard is not None and heard.leaves_room(allowance, now):
            # Admitted without waiting: the count goes on to Redis, whatever it says.
            heard.ahead += 1
            pending = link.count(name, now, limits)
            if pending is not None:
                pending.counted.add_done_callback(partial(self._counted, heard, pending))
            return heard.guess()
        outcome = _outcome(await link.decide(name, (repr(now).encode(), *limits, b"0")))
        heard = self._heard.setdefault((key, allowance), _Heard(now, outcome))
        heard.learn(now, outcome)
        if len(self._heard) > MAX_HEARD:
            self._heard.clear()
        return outcome

    def _counted(self, heard: _Heard, pending: _Counts, counted: asyncio.Future[bytes]) -> None:
        heard.ahead -= pending.n
        if counted.cancelled():
            return
        try:
            heard.learn(pending.now, _outcome(counted.result()))
        except SharedUnavailable as error:
            self._broken = str(error)  # the next request falls back, and says why

    async def ping(self) -> None:
        """Loads the script, so the first request does not."""
        await self._bounded(self._call(b"SCRIPT", b"LOAD", SCRIPT))

    async def close(self) -> None:
        """Sends the counts still gathered and waits for them (within the timeout), then
        closes."""
        link, self._link = self._link, None
        if link is None:
            return
        counted = link.send_counts()
        if counted:
            await asyncio.wait(counted, timeout=self._timeout)
        link.close()

    def _drop(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.close()

    def _argv(self, allowance: Allowance) -> tuple[bytes, bytes, bytes]:
        """The script's arguments for an allowance: interval, capacity, daily quota (0: none)."""
        found = self._allowances.get(allowance)
        if found is None:
            interval = 60 / allowance.per_minute if allowance.per_minute else 0.0
            capacity = allowance.capacity if allowance.per_minute else 0
            found = (repr(interval).encode(), b"%d" % capacity, b"%d" % (allowance.daily or 0))
            if len(self._allowances) >= 10_000:
                self._allowances.clear()
            self._allowances[allowance] = found
        return found

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
        _, link = await loop.create_connection(
            partial(_Link, self._timeout), self._host, self._port
        )
        if self._password is not None:
            await _checked(link.call(b"AUTH", self._password.encode()))
        if self._db != "0":
            await _checked(link.call(b"SELECT", self._db.encode()))
        return link

    async def _bounded(self, call: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self._timeout):
                return await call
        except TimeoutError:
            self._drop()  # a reply may still come on it: start afresh
            raise SharedUnavailable(f"no answer within {self._timeout} s") from None
        except (OSError, ConnectionError, RespError) as error:
            self._drop()
            raise SharedUnavailable(f"{type(error).__name__}: {error}"[:200]) from None


def _outcome(line: bytes) -> Outcome:
    try:
        allowed, remaining, reset_ms, day_left, retry_ms = map(int, line.split(b" "))
    except ValueError:
        raise SharedUnavailable(f"unexpected reply {line!r}"[:200]) from None
    return Outcome(allowed == 1, remaining, reset_ms / 1000, day_left, retry_ms / 1000)


def _settle(reply: asyncio.Future[object], value: object) -> None:
    if reply.done():
        return
    if isinstance(value, ConnectionError):
        reply.set_exception(value)
    else:
        reply.set_result(value)


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
