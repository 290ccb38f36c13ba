"""The bucket and the daily count, in memory and in Redis (a real one), decide alike; and a
Redis that goes away is fallen back from, and come back to."""

from __future__ import annotations

import uuid

import pytest

from tenantgate.gateway.ratelimit import DAY, LocalRates, RateLimiter, decide
from tenantgate.gateway.redis_rates import RedisRates, _parse
from tenantgate.registry.rates import Allowance
from tests.conftest import ManualClock
from tests.gateway.upstream import closed_port

START = 1_900_000_000.0 - 1_900_000_000.0 % DAY + DAY - 30  # 30 s before a UTC midnight
STEPS = [0.0, 0.0, 0.0, 0.5, 1.0, 3.0, 3.1, 10.0, 20.0, 29.0, 29.5, 31.0, 31.0, 31.0]


def test_a_fresh_bucket_lets_a_burst_through_then_one_request_per_interval():
    allowance = Allowance(per_minute=60, burst=3)
    local = LocalRates()

    allowed = [local.take("k", allowance, START + t).allowed for t in (0, 0, 0, 0, 1.0, 1.0)]

    assert allowed == [True, True, True, False, True, False]


def test_a_refused_request_is_not_counted():
    outcome, tat, used = decide(START + 10, 5, START, Allowance(per_minute=60, burst=1, daily=5))

    assert not outcome.allowed
    assert (tat, used) == (START + 10, 5)


async def test_redis_decides_as_memory_does():
    allowance = Allowance(per_minute=12, burst=2, daily=6)
    shared = RedisRates(
        "redis://127.0.0.1:6379/0", prefix=f"tg-test-{uuid.uuid4().hex}:", timeout=1
    )
    local = LocalRates()
    try:
        for step in STEPS:
            now = START + step
            here, there = local.take("k", allowance, now), await shared.take("k", allowance, now)
            assert there.allowed == here.allowed, step
            assert there.rate_remaining == here.rate_remaining, step
            assert there.day_remaining == here.day_remaining, step
            assert there.rate_reset == pytest.approx(here.rate_reset, abs=0.002), step
            assert there.retry_after == pytest.approx(here.retry_after, abs=0.002), step
    finally:
        await shared.close()


async def test_while_redis_is_away_the_limiter_counts_in_memory():
    clock = ManualClock(START)
    shared = RedisRates(f"redis://127.0.0.1:{closed_port()}/0", prefix="x:", timeout=0.2)
    limiter = RateLimiter(Allowance(), clock, shared=shared)
    allowance = Allowance(per_minute=60, burst=1)

    first = await limiter.take("k", allowance)
    second = await limiter.take("k", allowance)

    assert first.allowed and not second.allowed
    assert not limiter.shared
    clock.advance(3)
    await limiter.take("k", allowance)
    assert not limiter.shared
    await limiter.close()


def test_replies_are_read_only_once_they_have_all_arrived():
    assert _parse(bytearray(b"*2\r\n:1\r\n$-1\r\n"), 0) == ([1, None], 13)
    assert _parse(bytearray(b"*2\r\n:1\r\n"), 0) is None
    assert _parse(bytearray(b"$5\r\nhel"), 0) is None
    assert _parse(bytearray(b"+OK\r\n"), 0) == ("OK", 5)
