"""With TENANTGATE_REDIS_URL the failure limits hold for the deployment: a failure on one node
counts on every other. When Redis is gone or silent, token requests are still answered within
the timeout, each node limits on its own, and the metrics and one log line say so."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import structlog
from redis.asyncio import Redis

from tenantgate.fallback import RETRY_INTERVAL
from tests import factories as f
from tests.conftest import PATIENT, ManualClock
from tests.tokens.calls import assert_oauth_error
from tests.tokens.servers import http_client

REDIS_URL = os.environ.get("TENANTGATE_TEST_REDIS", "redis://127.0.0.1:6379/0")
LIMIT, WINDOW = 3, 30.0
TIMEOUT = 0.2  # where Redis refuses or is silent; where it answers, PATIENT
ATTACKER, OWNER = "192.0.2.66", "198.51.100.20"


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own, and its keys deleted afterwards."""
    name = f"tenantgate-test:{uuid.uuid4().hex}:"
    yield name
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in redis.scan_iter(match=name + "*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


def limits(
    clock: ManualClock, redis_url: str, prefix: str = "unused:", timeout: float = PATIENT
) -> dict:
    return {
        "clock": clock,
        "failure_limit": LIMIT,
        "failure_window": WINDOW,
        "redis_url": redis_url,
        "redis_prefix": prefix,
        "redis_timeout": timeout,
    }


def metric(services, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", services.metrics.render().decode(), re.M)
    assert found, name
    return float(found.group(1))


async def test_failures_on_one_node_count_on_the_others(server, prefix):
    clock = ManualClock()
    first, client = await server(**limits(clock, REDIS_URL, prefix))
    setup = await f.accepted_setup(client)
    second, _ = await server(**limits(clock, REDIS_URL, prefix))
    assert metric(first, "tenantgate_limiter_shared") == 1

    async with http_client(first, ATTACKER) as one, http_client(second, ATTACKER) as two:
        for node in (one, two, one):
            wrong = await node.post("/v1/token", data=setup.form(client_secret="tgs_guess"))
            assert_oauth_error(wrong, 403, "invalid_client")
        blocked = await two.post("/v1/token", data=setup.form())

    assert_oauth_error(blocked, 429, "slow_down")
    assert 0 < int(blocked.headers["retry-after"]) <= WINDOW
    assert metric(second, "tenantgate_limiter_fallback_total") == 0


async def test_a_guess_over_three_nodes_does_not_lock_out_the_owner(server, prefix):
    clock = ManualClock()
    first, client = await server(**limits(clock, REDIS_URL, prefix))
    setup = await f.accepted_setup(client)
    nodes = [first] + [(await server(**limits(clock, REDIS_URL, prefix)))[0] for _ in range(2)]

    for round_ in range(3):
        for node in nodes:
            async with http_client(node, ATTACKER) as attacker:
                await attacker.post("/v1/token", data=setup.form(client_secret=f"tgs_{round_}"))

    for node in nodes:
        async with http_client(node, ATTACKER) as attacker, http_client(node, OWNER) as owner:
            blocked = await attacker.post("/v1/token", data=setup.form())
            assert_oauth_error(blocked, 429, "slow_down")
            assert (await owner.post("/v1/token", data=setup.form())).status_code == 200


async def test_the_client_id_guard_is_shared_too(server, prefix):
    clock = ManualClock()
    first, client = await server(**limits(clock, REDIS_URL, prefix))
    setup = await f.accepted_setup(client)
    second, _ = await server(**limits(clock, REDIS_URL, prefix))
    for n in range(10 * LIMIT):
        async with http_client((first, second)[n % 2], f"192.0.2.{n}") as guesser:
            await guesser.post("/v1/token", data=setup.form(client_secret="tgs_guess"))

    async with http_client(second, OWNER) as owner:
        assert_oauth_error(await owner.post("/v1/token", data=setup.form()), 429, "slow_down")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.asynccontextmanager
async def silent_listener() -> AsyncIterator[int]:
    """Accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    listener = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield listener.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        listener.close()
        await listener.wait_closed()


async def timed(call) -> tuple[float, object]:
    start = time.monotonic()
    result = await call
    return time.monotonic() - start, result


async def guess_then_try(client, setup) -> list[float]:
    """LIMIT wrong secrets and then the right one, from one address: the per-node limit must
    refuse the last. Returns how long each answer took."""
    took = []
    for _ in range(LIMIT):
        seconds, wrong = await timed(
            client.post("/v1/token", data=setup.form(client_secret="tgs_guess"))
        )
        assert_oauth_error(wrong, 403, "invalid_client")
        took.append(seconds)
    seconds, blocked = await timed(client.post("/v1/token", data=setup.form()))
    assert_oauth_error(blocked, 429, "slow_down")
    return [*took, seconds]


def events(logs: list[dict], prefix: str = "failure_limits_") -> list[str]:
    return [e["event"] for e in logs if e["event"].startswith(prefix)]


# create_app configures structlog, which ends a capture: logs are captured per phase, the
# node's start (before its app exists) and then its requests.


async def test_with_redis_refusing_connections_each_node_limits_on_its_own(server):
    clock = ManualClock()
    with structlog.testing.capture_logs() as at_start:
        refusing = f"redis://127.0.0.1:{closed_port()}/0"
        services, client = await server(**limits(clock, refusing, timeout=TIMEOUT))
    with structlog.testing.capture_logs() as later:
        setup = await f.accepted_setup(client)
        assert (await client.post("/v1/token", data=setup.form())).status_code == 200
        took = await guess_then_try(client, setup)

    assert max(took) < TIMEOUT + 0.5
    assert metric(services, "tenantgate_limiter_shared") == 0
    assert metric(services, "tenantgate_limiter_fallback_total") >= LIMIT + 2
    assert events(at_start) == ["failure_limits_per_node"]
    assert [e["shared"] for e in at_start if e["event"] == "failure_limits"] == [False]
    assert events(later) == []


async def test_with_redis_silent_requests_wait_no_longer_than_the_timeout(server):
    clock = ManualClock()
    async with silent_listener() as port:
        started = time.monotonic()
        with structlog.testing.capture_logs() as at_start:
            silent = f"redis://127.0.0.1:{port}/0"
            services, client = await server(**limits(clock, silent, timeout=TIMEOUT))
        assert time.monotonic() - started < 10  # the start's probe is bounded too
        with structlog.testing.capture_logs() as later:
            setup = await f.accepted_setup(client)
            clock.advance(RETRY_INTERVAL)  # the next request asks Redis again, and waits
            took = await guess_then_try(client, setup)
            clock.advance(RETRY_INTERVAL)
            seconds, _ = await timed(client.post("/v1/token", data=setup.form(client_id="x")))

    assert TIMEOUT <= took[0] < TIMEOUT + 0.5
    assert max(took[1:]) < TIMEOUT
    assert TIMEOUT <= seconds < TIMEOUT + 0.5
    assert metric(services, "tenantgate_limiter_shared") == 0
    assert events(at_start) == ["failure_limits_per_node"]
    assert events(later) == []


class Switch:
    """A TCP relay to the real Redis that can be cut: while off, it drops every connection."""

    def __init__(self) -> None:
        self.on = False
        self._links: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task] = set()  # held, or the collector may end a relay

    async def relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.on:
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        host, port = REDIS_URL.split("//", 1)[1].split("/", 1)[0].split(":")
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        self._links += [writer, up_writer]
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    def cut(self) -> None:
        self.on = False
        for writer in self._links:
            writer.close()
        self._links.clear()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


async def test_the_episode_is_logged_once_and_its_end_too(server, prefix):
    clock = ManualClock()
    switch = Switch()
    listener = await asyncio.start_server(switch.relay, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        with structlog.testing.capture_logs() as at_start:
            services, client = await server(**limits(clock, f"redis://127.0.0.1:{port}/0", prefix))
        with structlog.testing.capture_logs() as later:
            setup = await f.accepted_setup(client)
            assert metric(services, "tenantgate_limiter_shared") == 0

            switch.on = True
            clock.advance(RETRY_INTERVAL)
            assert (await client.post("/v1/token", data=setup.form())).status_code == 200
            assert metric(services, "tenantgate_limiter_shared") == 1
            for _ in range(2):
                wrong = await client.post("/v1/token", data=setup.form(client_secret="tgs_x"))
                assert_oauth_error(wrong, 403, "invalid_client")

            switch.cut()
            await client.post("/v1/token", data=setup.form(client_secret="tgs_guess"))
            assert metric(services, "tenantgate_limiter_shared") == 0
            # the failures counted in Redis were counted here too: the limit holds
            blocked = await client.post("/v1/token", data=setup.form())
            assert_oauth_error(blocked, 429, "slow_down")
    finally:
        switch.cut()
        listener.close()
        await listener.wait_closed()

    assert events(at_start) == ["failure_limits_per_node"]
    assert events(later) == ["failure_limits_shared_again", "failure_limits_per_node"]
