"""The SDK and the integrator CLI against the real tenantgate server, started as a process.

Tokens issued are counted by the server itself, in its audit trail."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tenantgate.client import (
    AccessDenied,
    AsyncClient,
    Client,
    InvalidClient,
    RateLimited,
    RetryPolicy,
    TokenCache,
)
from tests.interop.realserver import (
    APPS,
    QUERIES,
    ROOTS,
    Integration,
    RealServer,
    running_server,
    shared_server,
)

from .conftest import FakeClock, Sleeps

pytestmark = pytest.mark.slow

CALLERS = 100
CLI_TIMEOUT = 60


@pytest.fixture(scope="module")
def real_server(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> RealServer:
    return shared_server(pytestconfig, tmp_path_factory)


@pytest.fixture
def integration(real_server: RealServer) -> Integration:
    return real_server.integration()


def rows(data: dict[str, Any], app: str) -> list[dict[str, Any]]:
    return [edge["node"] for edge in data[ROOTS[app]]["edges"]]


def invalidate_behind_the_clients_back(server: RealServer, access_token: str) -> None:
    response = httpx.delete(server.token_url, headers={"x-tokens": f"accessToken={access_token}"})
    assert response.status_code == 204


def test_a_client_queries_both_apps_through_the_gateway(
    real_server: RealServer, integration: Integration
) -> None:
    with Client(**integration.credentials, cache=TokenCache()) as tg:
        for app in APPS:
            assert len(rows(tg.graphql(app, QUERIES[app]), app)) == 3
            assert tg.app_url(app) == tg.token().raw["urls"]["apps"][app]["graphQL"]
            assert tg.app_url(app).startswith(f"{real_server.url}/v1/fwd/")

    assert real_server.issued(integration) == 1


async def test_an_async_client_queries_both_apps_through_the_gateway(
    real_server: RealServer, integration: Integration
) -> None:
    async with AsyncClient(**integration.credentials, cache=TokenCache()) as tg:
        results = await asyncio.gather(*(tg.graphql(app, QUERIES[app]) for app in APPS))

    for app, data in zip(APPS, results, strict=True):
        assert len(rows(data, app)) == 3
    assert real_server.issued(integration) == 1


def test_a_hundred_threads_renew_an_expired_token_once(
    real_server: RealServer, integration: Integration, clock: FakeClock
) -> None:
    with Client(**integration.credentials, cache=TokenCache(), clock=clock) as tg:
        expired = tg.token()
        clock.advance(3600)
        before = real_server.issued(integration)
        start = threading.Barrier(CALLERS)

        def call(_: int) -> str:
            start.wait(timeout=30)
            tg.graphql("sdmo", QUERIES["sdmo"])
            return tg.token().access_token

        with ThreadPoolExecutor(CALLERS) as pool:
            tokens = set(pool.map(call, range(CALLERS)))

        assert real_server.issued(integration) == before + 1
        assert len(tokens) == 1
        assert tokens != {expired.access_token}


async def test_a_hundred_tasks_renew_an_expired_token_once(
    real_server: RealServer, integration: Integration, clock: FakeClock
) -> None:
    async with AsyncClient(**integration.credentials, cache=TokenCache(), clock=clock) as tg:
        expired = await tg.token()
        clock.advance(3600)
        before = real_server.issued(integration)

        await asyncio.gather(*(tg.graphql("sdmo", QUERIES["sdmo"]) for _ in range(CALLERS)))

        assert real_server.issued(integration) == before + 1
        assert (await tg.token()).access_token != expired.access_token


def test_a_token_invalidated_behind_the_clients_back_is_renewed_once(
    real_server: RealServer, integration: Integration
) -> None:
    with Client(**integration.credentials, cache=TokenCache()) as tg:
        first = tg.token()
        invalidate_behind_the_clients_back(real_server, first.access_token)

        assert rows(tg.graphql("shopfloor", QUERIES["shopfloor"]), "shopfloor")
        assert tg.token().access_token != first.access_token

    assert real_server.issued(integration) == 2


async def test_an_async_client_renews_a_token_invalidated_behind_its_back(
    real_server: RealServer, integration: Integration
) -> None:
    async with AsyncClient(**integration.credentials, cache=TokenCache()) as tg:
        first = await tg.token()
        invalidate_behind_the_clients_back(real_server, first.access_token)

        assert rows(await tg.graphql("sdmo", QUERIES["sdmo"]), "sdmo")

    assert real_server.issued(integration) == 2


def test_leaving_the_with_block_invalidates_the_token(
    real_server: RealServer, integration: Integration
) -> None:
    with Client(**integration.credentials, cache=TokenCache()) as tg:
        access_token = tg.token().access_token
        assert real_server.introspect(access_token)["active"] is True

    assert real_server.introspect(access_token) == {"active": False}


async def test_leaving_the_async_with_block_invalidates_the_token(
    real_server: RealServer, integration: Integration
) -> None:
    async with AsyncClient(**integration.credentials, cache=TokenCache()) as tg:
        access_token = (await tg.token()).access_token
        assert real_server.introspect(access_token)["active"] is True

    assert real_server.introspect(access_token) == {"active": False}


def test_a_wrong_secret_is_invalid_client(integration: Integration) -> None:
    wrong = integration.with_secret("tgs_not-the-secret")

    with (
        Client(**wrong.credentials, cache=TokenCache()) as tg,
        pytest.raises(InvalidClient) as raised,
    ):
        tg.token()

    assert (raised.value.status, raised.value.error) == (403, "invalid_client")


async def test_a_tenant_that_has_not_accepted_the_application_is_access_denied(
    real_server: RealServer,
) -> None:
    stranger = real_server.integration(accepted=False)

    async with AsyncClient(**stranger.credentials, cache=TokenCache()) as tg:
        with pytest.raises(AccessDenied) as raised:
            await tg.graphql("sdmo", QUERIES["sdmo"])

    assert (raised.value.status, raised.value.error) == (403, "access_denied")


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServer]:
    """A server that answers 429 after two failures from one address within a minute."""
    with running_server(tmp_path_factory.mktemp("strict"), failure_limit="2") as server:
        yield server


class TestRateLimit:
    """A server that answers 429 after two failures from one address within a minute."""

    @pytest.fixture
    def wrong(self, strict_server: RealServer) -> Integration:
        """A wrong secret, after two failures have set off the limit."""
        wrong = strict_server.integration().with_secret("tgs_wrong")
        for _ in range(2):
            httpx.post(strict_server.token_url, data=wrong.form)
        return wrong

    def test_slow_down_is_waited_for_as_retry_after_says_then_raised(
        self, wrong: Integration
    ) -> None:
        retry_afters: list[float] = []

        def record(response: httpx.Response) -> None:
            if response.status_code == 429:
                retry_afters.append(float(response.headers["retry-after"]))

        sleeps = Sleeps()
        retry = RetryPolicy(max_retries=2, max_wait=600)
        with (
            httpx.Client(event_hooks={"response": [record]}) as http,
            Client(
                **wrong.credentials, http=http, cache=TokenCache(), sleep=sleeps, retry=retry
            ) as tg,
            pytest.raises(RateLimited) as raised,
        ):
            tg.token()

        assert len(retry_afters) == 3
        assert sleeps == retry_afters[:2]
        assert raised.value.retry_after == retry_afters[2]
        assert raised.value.error == "slow_down"

    def test_a_retry_after_beyond_the_total_wait_is_not_waited_for(
        self, wrong: Integration
    ) -> None:
        sleeps = Sleeps()

        tg = Client(**wrong.credentials, cache=TokenCache(), sleep=sleeps)
        with tg, pytest.raises(RateLimited) as raised:
            tg.token()

        assert sleeps == []
        assert raised.value.retry_after is not None
        assert raised.value.retry_after > RetryPolicy().max_wait


def tenantgate(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The ``tenantgate`` command installed beside this Python, in a subprocess."""
    script = Path(sys.executable).with_name("tenantgate")
    command = str(script) if script.exists() else shutil.which("tenantgate")
    assert command, "the tenantgate command is not installed"
    return subprocess.run(
        [command, *args],
        env={**_base_env(), **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TENANTGATE_")}


def test_cli_token_get_then_invalidate(real_server: RealServer, integration: Integration) -> None:
    got = tenantgate("token", "get", "--json", env=integration.env)
    assert got.returncode == 0, got.stderr
    body = json.loads(got.stdout)
    assert set(body["urls"]["apps"]) == set(APPS)
    assert real_server.introspect(body["access_token"])["active"] is True

    invalidated = tenantgate("token", "invalidate", env=integration.env, stdin=got.stdout)

    assert invalidated.returncode == 0, invalidated.stderr
    assert real_server.introspect(body["access_token"]) == {"active": False}


def test_cli_graphql_prints_the_data(integration: Integration) -> None:
    result = tenantgate("graphql", "--app", "sdmo", QUERIES["sdmo"], env=integration.env)

    assert result.returncode == 0, result.stderr
    assert len(rows(json.loads(result.stdout), "sdmo")) == 3


def test_cli_exits_3_on_a_wrong_secret(integration: Integration) -> None:
    env = {**integration.env, "TENANTGATE_CLIENT_SECRET": "tgs_wrong"}

    result = tenantgate("token", "get", env=env)

    assert result.returncode == 3
    assert "invalid_client" in result.stderr


def test_cli_exits_4_when_the_tenant_has_not_accepted_the_application(
    real_server: RealServer,
) -> None:
    stranger = real_server.integration(accepted=False)

    result = tenantgate("graphql", "--app", "sdmo", QUERIES["sdmo"], env=stranger.env)

    assert result.returncode == 4
    assert "access_denied" in result.stderr
