"""Failed client authentications, counted so that guessing stops without locking out the
owner of a client id.

A client id is not a secret (it sits in configs and logs), so the limit that blocks a
correct secret cannot be the client id's alone: anyone could keep an integration down by
naming it. Failures are counted in three sliding windows of ``window`` seconds:

- per (address, client id), limit ``per_pair``: a guesser at one address is stopped for that
  client id, and the owner at another address is not;
- per address, limit ``per_address``: one address trying many client ids (spraying) is
  stopped for all of them, honest clients behind the same address included;
- per client id, limit ``per_client``, much higher: a guess spread over many addresses is
  slowed; only past this guard is the owner refused too.

A request is refused while any of its windows is full. Failures of the operator's token
count per (address, operator) and per address, never per client id, so that nobody can lock
the operator out from elsewhere.

The windows live in this node's memory, or in Redis for the whole deployment
(:mod:`tenantgate.tokens.redis_windows`) with this node's memory as the fallback: every
failure is also counted here, so a node that loses Redis goes on limiting from what it saw."""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from tenantgate.clock import Clock
from tenantgate.fallback import Fallback
from tenantgate.metrics import Metrics

log = structlog.get_logger(__name__)

Counter = tuple[str, int]
"""A window's key and its limit."""

"""Seconds a node counts on its own after Redis failed before it asks Redis again."""


@dataclass(frozen=True, slots=True)
class FailurePolicy:
    per_pair: int
    per_address: int
    per_client: int
    window: float

    def counters(self, client_id: str | None, address: str) -> tuple[Counter, ...]:
        """The windows one request is counted in; ``client_id=None`` is the operator."""
        if client_id is None:
            return ("o:" + address, self.per_pair), ("a:" + address, self.per_address)
        client_id = client_id[:64]
        return (
            (f"p:{address}|{client_id}", self.per_pair),
            ("a:" + address, self.per_address),
            ("c:" + client_id, self.per_client),
        )


class SharedUnavailable(Exception):
    """The shared store did not answer in time, or refused."""


class SharedWindows(Protocol):
    where: str

    async def wait(self, counters: Sequence[Counter], now: float) -> float: ...

    async def add(self, counters: Sequence[Counter], now: float) -> None: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class LocalWindows:
    """The last ``limit`` failure times of each key, in this node's memory; the keys least
    recently failed are forgotten past ``max_keys``."""

    def __init__(self, window: float, max_keys: int = 100_000) -> None:
        self._window = window
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    @property
    def empty(self) -> bool:
        return not self._failures

    def wait(self, counters: Sequence[Counter], now: float) -> float:
        """Seconds until every window has room (0: none is full)."""
        wait = 0.0
        for key, limit in counters:
            times = self._failures.get(key)
            if times is not None and len(times) >= limit:
                wait = max(wait, times[-limit] + self._window - now)
        return wait

    def add(self, counters: Sequence[Counter], now: float) -> None:
        for key, limit in counters:
            times = self._failures.pop(key, None)
            if times is None or times.maxlen != limit:
                times = deque(times or (), maxlen=limit)
            times.append(now)
            self._failures[key] = times
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)


class FailureLimiter:
    """The policy over this node's windows, or over shared ones with this node's as the
    fallback while the shared store is unavailable (logged once per episode, counted in
    ``tenantgate_limiter_fallback``; tried again every
    few seconds, :mod:`tenantgate.fallback`)."""

    def __init__(
        self,
        policy: FailurePolicy,
        clock: Clock,
        *,
        shared: SharedWindows | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._local = LocalWindows(policy.window)
        self._shared = shared
        self._metrics = metrics or Metrics()
        self._fallback = Fallback(
            clock,
            shared.where if shared else "",
            down="failure_limits_per_node",
            up="failure_limits_shared_again",
            on_change=lambda shared: self._metrics.limiter_shared.set(1 if shared else 0),
        )

    @property
    def shared(self) -> bool:
        """Whether the limits hold for the whole deployment right now."""
        return self._shared is not None and not self._fallback.failing

    async def open(self) -> None:
        """Say which limits are in force; with Redis, try it once now."""
        if self._shared is not None:
            try:
                await self._shared.ping()
            except SharedUnavailable as error:
                self._fallback.failed(str(error))
        where = self._shared.where if self._shared else None
        log.info("failure_limits", shared=self.shared, redis=where, **self._numbers())
        self._metrics.limiter_shared.set(1 if self.shared else 0)

    async def close(self) -> None:
        if self._shared is not None:
            await self._shared.close()

    async def retry_after(self, client_id: str | None, address: str) -> int | None:
        """Seconds to wait if the request's windows are full, else None."""
        if self._shared is None and self._local.empty:
            return None
        counters = self._policy.counters(client_id, address)
        now = self._clock()
        if self._shared is not None and self._fallback.may_ask(now):
            try:
                wait = await self._shared.wait(counters, now)
            except SharedUnavailable as error:
                self._fallback.failed(str(error))
            else:
                self._fallback.recovered()
                return _seconds(wait)
        if self._shared is not None:
            self._metrics.limiter_fallback.inc()
        return _seconds(self._local.wait(counters, now))

    async def fail(self, client_id: str | None, address: str) -> None:
        counters = self._policy.counters(client_id, address)
        now = self._clock()
        self._local.add(counters, now)
        if self._shared is None:
            return
        if not self._fallback.may_ask(now):
            self._metrics.limiter_fallback.inc()
            return
        try:
            await self._shared.add(counters, now)
        except SharedUnavailable as error:
            self._fallback.failed(str(error))
            self._metrics.limiter_fallback.inc()
        else:
            self._fallback.recovered()

    def _numbers(self) -> dict[str, float]:
        p = self._policy
        return {
            "per_pair": p.per_pair,
            "per_address": p.per_address,
            "per_client": p.per_client,
            "window": p.window,
        }


def _seconds(wait: float) -> int | None:
    return max(1, math.ceil(wait)) if wait > 0 else None


class KeyedLimiter:
    """One limit over any keys, in this node's memory: the console's sign-in and sign-up
    guard (per e-mail and per address)."""

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        self._limit = limit
        self._clock = clock
        self._windows = LocalWindows(window)

    def retry_after(self, *keys: str) -> int | None:
        """Seconds to wait if any key is over its limit, else None."""
        if self._windows.empty:
            return None
        return _seconds(self._windows.wait([(k, self._limit) for k in keys], self._clock()))

    def fail(self, *keys: str) -> None:
        self._windows.add([(k, self._limit) for k in keys], self._clock())
