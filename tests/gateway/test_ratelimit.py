"""The bucket and the daily count, in memory and in Redis (a real one), decide alike; requests
that arrive together share one script call, in their order; and a Redis that goes away, goes
silent or forgets the script is fallen back from, waited on no longer than the timeout, or
sent the script again."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from tenantgate.gateway.ratelimit import DAY, LocalRates, RateLimiter, SharedUnavailable, decide
from tenantgate.gateway.redis_rates import COUNT_DELAY, MAX_BATCH, RedisRates, _parse
from tenantgate.registry.rates import Allowance
from tests.conftest import PATIENT, ManualClock
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
        "redis://127.0.0.1:6379/0", prefix=f"tg-test-{uuid.uuid4().hex}:", timeout=PATIENT
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


@contextlib.contextmanager
def own_redis() -> Iterator[str]:
    """A Redis of this test's own (its statistics and its script cache are the test's alone),
    stopped at the end."""
    port = closed_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_timeout=PATIENT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "no redis-server"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(10)


@contextlib.asynccontextmanager
async def own_rates() -> AsyncIterator[tuple[str, RedisRates]]:
    """A :class:`RedisRates` on a Redis of this test's own, closed at the end."""
    with own_redis() as url:
        shared = RedisRates(url, prefix="t:", timeout=PATIENT)
        try:
            yield url, shared
        finally:
            await shared.close()


def script_calls(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
        return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("eval", "evalsha"))
    finally:
        client.close()


async def test_requests_that_arrive_together_share_one_script_call_and_keep_their_order():
    allowance = Allowance(per_minute=60, burst=10)
    async with own_rates() as (url, shared):
        await shared.ping()
        outcomes = await asyncio.gather(*(shared.take("k", allowance, START) for _ in range(50)))
        calls = script_calls(url)

    # The first went alone; the 49 that came while it was on its way, together.
    assert calls == 2
    assert [o.allowed for o in outcomes] == [True] * 10 + [False] * 40
    assert [o.rate_remaining for o in outcomes[:10]] == list(range(9, -1, -1))


async def test_a_batch_holds_at_most_max_batch_requests():
    allowance = Allowance(per_minute=60_000, burst=1_000)
    async with own_rates() as (url, shared):
        await shared.ping()
        count = 1 + 2 * MAX_BATCH + 1
        outcomes = await asyncio.gather(
            *(shared.take(f"k{i}", allowance, START) for i in range(count))
        )
        calls = script_calls(url)

    assert all(o.allowed for o in outcomes)
    assert calls == 1 + 3  # the first alone, then 2 * MAX_BATCH + 1 in three


async def test_a_redis_that_forgot_the_script_is_sent_it_whole():
    allowance = Allowance(per_minute=60, burst=2)
    async with own_rates() as (url, shared):
        assert (await shared.take("k", allowance, START)).allowed
        client = redis.Redis.from_url(url)
        client.script_flush()
        client.close()
        after = [await shared.take("k", allowance, START) for _ in range(2)]

    assert [o.allowed for o in after] == [True, False]


async def test_a_redis_that_never_answers_fails_the_whole_batch_within_the_timeout():
    held: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    shared = RedisRates(f"redis://127.0.0.1:{port}/0", prefix="t:", timeout=0.2)
    allowance = Allowance(per_minute=60, burst=2)
    try:
        started = time.monotonic()
        results = await asyncio.gather(
            *(shared.take("k", allowance, START) for _ in range(5)), return_exceptions=True
        )
        took = time.monotonic() - started
    finally:
        await shared.close()
        for writer in held:
            writer.close()
        listener.close()
        await listener.wait_closed()

    assert all(isinstance(r, SharedUnavailable) for r in results), results
    assert 0.2 <= took < 0.2 + 0.5


def counted_in_redis(url: str, key: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.hget(f"t:rate:{key}", "u") or 0)
    finally:
        client.close()


async def test_far_from_its_limits_a_request_does_not_wait_for_redis():
    allowance = Allowance(per_minute=60_000, burst=1_000, daily=1_000_000)
    with own_redis() as url:
        shared = RedisRates(url, prefix="t:", timeout=5)
        admin = redis.Redis.from_url(url)
        try:
            assert (await shared.take("k", allowance, START)).allowed  # waits: nothing heard yet
            admin.execute_command("CLIENT", "PAUSE", 3000, "ALL")  # Redis holds every answer
            started = time.monotonic()
            ahead = [await shared.take("k", allowance, START + 0.001) for _ in range(5)]
            took = time.monotonic() - started
            admin.execute_command("CLIENT", "UNPAUSE")
            deadline = time.monotonic() + 5
            while counted_in_redis(url, "k") < 6:  # the counts sent on arrive
                assert time.monotonic() < deadline, counted_in_redis(url, "k")
                await asyncio.sleep(0.01)
        finally:
            admin.close()
            await shared.close()

    assert took < 1.0
    assert all(o.allowed for o in ahead)
    assert [o.rate_remaining for o in ahead] == [998, 997, 996, 995, 994]


async def test_near_its_limit_a_request_waits_and_the_limit_holds_exactly():
    allowance = Allowance(per_minute=60, burst=20)
    async with own_rates() as (url, shared):
        outcomes = [await shared.take("k", allowance, START) for _ in range(30)]
        counted = counted_in_redis(url, "k")

    assert [o.allowed for o in outcomes] == [True] * 20 + [False] * 10
    assert counted == 20


async def test_two_nodes_admit_at_most_a_tenth_of_the_limit_each_beyond_it():
    allowance = Allowance(per_minute=60, burst=100)
    with own_redis() as url:
        nodes = [RedisRates(url, prefix="t:", timeout=PATIENT) for _ in range(2)]
        try:
            allowed = 0
            for i in range(300):
                allowed += (await nodes[i % 2].take("k", allowance, START)).allowed
            deadline = time.monotonic() + 5
            while (counted := counted_in_redis(url, "k")) != allowed:  # the last counts land
                assert time.monotonic() < deadline, (counted, allowed)
                await asyncio.sleep(0.01)
        finally:
            for node in nodes:
                await node.close()

    assert 100 <= allowed <= 100 + 2 * 100 // 10  # every one admitted was counted, too


async def test_a_busy_caller_costs_one_script_call_per_count_delay_and_every_request_counts():
    allowance = Allowance(per_minute=6_000_000, burst=100_000)
    async with own_rates() as (url, shared):
        await shared.ping()
        assert (await shared.take("k", allowance, START)).allowed  # waits: nothing heard
        started = time.monotonic()
        for i in range(1, 400):
            assert (await shared.take("k", allowance, START + i * 1e-4)).allowed
            if i % 20 == 0:
                await asyncio.sleep(0.002)  # the node serves others meanwhile
        took = time.monotonic() - started
        calls = script_calls(url) - 1
        deadline = time.monotonic() + 5
        while counted_in_redis(url, "k") < 400:
            assert time.monotonic() < deadline, counted_in_redis(url, "k")
            await asyncio.sleep(0.01)

    # The first waited; the counts of the 399 others went at most one call per COUNT_DELAY.
    assert 2 <= calls <= 1 + int(took / COUNT_DELAY) + 1, (calls, took)
    assert calls < 400 // 10


async def test_closing_sends_the_counts_still_gathered():
    allowance = Allowance(per_minute=60_000, burst=1_000)
    local = LocalRates()
    with own_redis() as url:
        shared = RedisRates(url, prefix="t:", timeout=PATIENT)
        for _ in range(31):
            assert (await shared.take("k", allowance, START)).allowed  # no await between them
            local.take("k", allowance, START)
        await shared.close()
        client = redis.Redis.from_url(url)
        try:
            tat, used = client.hmget("t:rate:k", "t", "u")
        finally:
            client.close()

    assert int(used) == 31  # one decision waited for, 30 counted as one on closing
    assert float(tat) == pytest.approx(local._tats["k"])
