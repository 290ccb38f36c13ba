from __future__ import annotations

import pytest

from tenantgate.client import AsyncClient, Client, TokenCache

from .conftest import Settings
from .fakeserver import Answer, FakeServer, free_port


def test_invalidate_sends_the_token_in_x_tokens(client: Client, server: FakeServer) -> None:
    token = client.token()

    client.invalidate()

    assert server.state.invalidations == [f"accessToken={token.access_token}"]
    assert token.access_token not in server.state.issued


def test_after_invalidation_the_next_call_gets_a_new_token(
    client: Client, server: FakeServer
) -> None:
    first = client.token()
    client.invalidate()

    assert client.graphql("sdmo", "{ a }")
    assert client.token().access_token != first.access_token
    assert server.state.token_requests == 2


def test_invalidate_without_a_token_asks_nothing(client: Client, server: FakeServer) -> None:
    client.invalidate()

    assert server.state.invalidations == []


def test_leaving_the_with_block_invalidates_the_token(
    settings: Settings, server: FakeServer
) -> None:
    with Client(**settings, cache=TokenCache()) as tg:
        token = tg.token()

    assert server.state.invalidations == [f"accessToken={token.access_token}"]


def test_a_client_that_never_used_a_token_invalidates_nothing_on_exit(
    settings: Settings, server: FakeServer
) -> None:
    with Client(**settings, cache=TokenCache()):
        pass

    assert server.state.invalidations == []


def test_a_failed_invalidation_on_exit_is_logged_and_hides_nothing(
    settings: Settings, server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}/v1/token"
    body = {"access_token": "t-1", "expires_in": 900, "urls": {"invalidateToken": unreachable}}
    server.state.token_script.append(Answer(200, body))

    with (
        pytest.raises(ValueError, match="the block's own error"),
        Client(**settings, cache=TokenCache()) as tg,
    ):
        tg.token()
        raise ValueError("the block's own error")

    assert "could not invalidate the token: cannot reach" in caplog.text


async def test_leaving_the_async_with_block_invalidates_the_token(
    settings: Settings, server: FakeServer
) -> None:
    async with AsyncClient(**settings, cache=TokenCache()) as tg:
        token = await tg.token()
        assert await tg.graphql("sdmo", "{ a }")

    assert server.state.invalidations == [f"accessToken={token.access_token}"]
