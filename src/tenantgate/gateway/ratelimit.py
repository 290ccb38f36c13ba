"""Rate limits and daily quotas of the gateway, per (tenant, application), and the RateLimit
header fields of draft-ietf-httpapi-ratelimit-headers-11 that every answer to a limited caller
carries.

The rate is GCRA, the token bucket kept as one number per key: the theoretical arrival time
(TAT) of the next request. A request at ``now`` is allowed if ``max(TAT, now) + interval -
capacity * interval <= now``, and then moves TAT on by one interval. The quota is a counter
per UTC day. A request is counted only if both allow it.

Counting is in this node's memory, or in Redis for the whole deployment
(:mod:`tenantgate.gateway.redis_rates`: both checks in one Lua script, one round trip). A
node that cannot reach Redis within ``TENANTGATE_REDIS_TIMEOUT`` counts in its own memory
instead, never failing the request, and asks Redis again every few seconds
(:mod:`tenantgate.fallback`): while it does, a caller gets that node's limits on top of the
shared ones."""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import NamedTuple, Protocol

import structlog

from tenantgate.clock import Clock
from tenantgate.fallback import Fallback
from tenantgate.registry.rates import Allowance
from tenantgate.settings import Settings

log = structlog.get_logger(__name__)

DAY = 86_400
MAX_KEYS = 200_000


class Outcome(NamedTuple):
    """One request's decision. A named tuple: one is made for every limited request, and a
    tuple costs a third of a frozen dataclass to make."""

    allowed: bool
    rate_remaining: int
    rate_reset: float
    day_remaining: int
    retry_after: float
    """Seconds until a request would be allowed; 0 when this one was."""


class SharedUnavailable(Exception):
    """The shared store did not answer in time, or refused."""


class SharedRates(Protocol):
    where: str

    async def take(self, key: str, allowance: Allowance, now: float) -> Outcome: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def day_of(now: float) -> int:
    return int(now // DAY)


def decide(tat: float, used: int, now: float, allowance: Allowance) -> tuple[Outcome, float, int]:
    """The outcome of one request, and the TAT and day's count to keep. The Lua script in
    ``redis_rates`` is this function, line for line."""
    allowed, remaining, reset, retry = True, -1, 0.0, 0.0
    new_tat = tat
    if allowance.per_minute is not None:
        interval, capacity = 60.0 / allowance.per_minute, allowance.capacity
        start = max(tat, now)
        new_tat = start + interval
        allow_at = new_tat - capacity * interval
        if allow_at > now:
            allowed, remaining, reset, retry = False, 0, start - now, allow_at - now
        else:
            # A hundredth of a token of slack: times of 10 digits leave a fast rate's interval
            # a little imprecise, and ``remaining`` is advice, not the decision.
            remaining, reset = int((now - allow_at) / interval + 0.01), new_tat - now
    day_left = -1
    if allowance.daily is not None:
        if allowed and used >= allowance.daily:
            allowed, retry = False, (day_of(now) + 1) * DAY - now
        day_left = allowance.daily - used - (1 if allowed else 0)
    if not allowed:
        return Outcome(False, max(remaining, 0), reset, max(day_left, 0), retry), tat, used
    return Outcome(True, remaining, reset, day_left, 0.0), new_tat, used + 1


class LocalRates:
    """This node's counts: a TAT per key and a count per key and day (older days dropped);
    the keys least recently used are forgotten past ``max_keys``."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self._max_keys = max_keys
        self._tats: OrderedDict[str, float] = OrderedDict()
        self._day = -1
        self._used: dict[str, int] = {}

    def take(self, key: str, allowance: Allowance, now: float) -> Outcome:
        day = day_of(now)
        if day != self._day:
            self._day, self._used = day, {}
        tats = self._tats
        outcome, tat, used = decide(tats.get(key, 0.0), self._used.get(key, 0), now, allowance)
        if outcome.allowed:
            if allowance.per_minute is not None:
                tats[key] = tat
                tats.move_to_end(key)
                if len(tats) > self._max_keys:
                    tats.popitem(last=False)
            if allowance.daily is not None:
                self._used[key] = used
        return outcome


class RateLimiter:
    def __init__(
        self, defaults: Allowance, clock: Clock, *, shared: SharedRates | None = None
    ) -> None:
        self._defaults = defaults
        self._clock = clock
        self._local = LocalRates()
        self._shared = shared
        self._fallback = Fallback(
            clock,
            shared.where if shared else "",
            down="gateway_rate_limits_per_node",
            up="gateway_rate_limits_shared_again",
        )
        self._allowances: dict[Allowance, tuple[Allowance, bytes] | None] = {}

    @property
    def shared(self) -> bool:
        return self._shared is not None and not self._fallback.failing

    async def open(self) -> None:
        if self._shared is not None:
            try:
                await self._shared.ping()
            except SharedUnavailable as error:
                self._fallback.failed(str(error))
        where = self._shared.where if self._shared else None
        log.info("gateway_rate_limits", shared=self.shared, redis=where)

    async def close(self) -> None:
        if self._shared is not None:
            await self._shared.close()

    def allowance(self, own: Allowance) -> tuple[Allowance, bytes] | None:
        """The API user's allowance over the defaults, with its ``RateLimit-Policy`` value;
        ``None`` when it is unlimited. Worked out once per distinct allowance."""
        found = self._allowances.get(own, False)
        if found is False:
            effective = own.over(self._defaults)
            found = (effective, policy_field(effective)) if effective.limited else None
            if len(self._allowances) >= 10_000:
                self._allowances.clear()
            self._allowances[own] = found
        return found  # type: ignore[return-value]

    async def take(self, key: str, allowance: Allowance) -> Outcome:
        now = self._clock()
        if self._shared is not None and self._fallback.may_ask(now):
            try:
                outcome = await self._shared.take(key, allowance, now)
            except SharedUnavailable as error:
                self._fallback.failed(str(error))
            else:
                self._fallback.recovered()
                return outcome
        return self._local.take(key, allowance, now)


def policy_field(allowance: Allowance) -> bytes:
    """``RateLimit-Policy``: the bucket as ``minute`` (its size, and the seconds it takes to
    fill), the quota as ``day``."""
    items = []
    if allowance.per_minute is not None:
        capacity = allowance.capacity
        window = math.ceil(capacity * 60 / allowance.per_minute)
        items.append(f"minute;q={capacity};w={window}")
    if allowance.daily is not None:
        items.append(f"day;q={allowance.daily};w={DAY}")
    return ", ".join(items).encode()


def limit_field(allowance: Allowance, outcome: Outcome, now: float) -> bytes:
    """``RateLimit``: what is left of each policy, and the seconds until it is whole again."""
    items = []
    if allowance.per_minute is not None:
        items.append(f"minute;r={outcome.rate_remaining};t={math.ceil(outcome.rate_reset)}")
    if allowance.daily is not None:
        reset = (day_of(now) + 1) * DAY - now
        items.append(f"day;r={outcome.day_remaining};t={math.ceil(reset)}")
    return ", ".join(items).encode()


def rate_limiter(settings: Settings, clock: Clock) -> RateLimiter:
    """The operator's defaults, counted in Redis when ``TENANTGATE_REDIS_URL`` names one."""
    defaults = Allowance(
        settings.rate_limit_per_minute, settings.rate_limit_burst, settings.daily_quota
    )
    shared = None
    if settings.redis_url:
        from tenantgate.gateway.redis_rates import RedisRates  # only where Redis is used

        shared = RedisRates(
            settings.redis_url, prefix=settings.redis_prefix, timeout=settings.redis_timeout
        )
    return RateLimiter(defaults, clock, shared=shared)
