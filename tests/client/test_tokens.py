from __future__ import annotations

import pytest

from tenantgate.client import (
    AccessDenied,
    Client,
    InvalidClient,
    InvalidScope,
    MissingSetting,
    RateLimited,
    RetryPolicy,
    TokenCache,
    TokenError,
    TransportError,
    default_cache,
)

from .conftest import FakeClock, Settings, Sleeps
from .fakeserver import (
    CLIENT_ID,
    CLIENT_SECRET,
    STRANGER_TENANT,
    TENANT_ID,
    Answer,
    FakeServer,
    free_port,
)


def slow_down(retry_after: str | None = None) -> Answer:
    headers = {"Retry-After": retry_after} if retry_after else {}
    body = {"error": "slow_down", "error_description": "too many failed attempts"}
    return Answer(429, body, headers)


def test_the_first_call_fetches_a_token_with_client_credentials(
    client: Client, server: FakeServer, clock: FakeClock
) -> None:
    token = client.token()

    assert server.state.token_forms == [
        {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": f"tenantid:{TENANT_ID}",
        }
    ]
    assert token.tenant_id == TENANT_ID
    assert token.expires_in == 900
    assert token.expires_at is not None
    assert token.expires_at.timestamp() == pytest.approx(clock.now + 900)
    assert set(token.apps) == {"sdmo", "shopfloor"}
    assert token.invalidate_url == server.token_url


def test_the_token_is_reused_while_it_is_fresh(client: Client, server: FakeServer) -> None:
    first = client.token()

    assert client.token() is first
    assert server.state.token_requests == 1


def test_clients_sharing_a_cache_share_the_token(
    settings: Settings, cache: TokenCache, server: FakeServer
) -> None:
    with Client(**settings, cache=cache) as one, Client(**settings, cache=cache) as two:
        assert one.token().access_token == two.token().access_token
    assert server.state.token_requests == 1


def test_clients_share_the_default_cache_unless_given_another(
    settings: Settings, server: FakeServer
) -> None:
    default_cache.clear()
    with Client(**settings) as one, Client(**settings) as two:
        assert one.token() is two.token()
        with Client(**settings, cache=TokenCache()) as other:
            assert other.token() is not one.token()
    assert server.state.token_requests == 2


def test_the_token_is_renewed_a_margin_before_it_expires(
    client: Client, server: FakeServer, clock: FakeClock
) -> None:
    first = client.token()
    clock.advance(900 - 60 - 1)
    assert client.token() is first

    clock.advance(1)
    assert client.token().access_token != first.access_token
    assert server.state.token_requests == 2


def test_the_renewal_margin_is_configurable(
    settings: Settings, server: FakeServer, clock: FakeClock
) -> None:
    with Client(**settings, cache=TokenCache(), clock=clock, renew_margin=300) as tg:
        first = tg.token()
        clock.advance(599)
        assert tg.token() is first
        clock.advance(1)
        assert tg.token() is not first


def test_without_expires_at_the_lifetime_comes_from_expires_in(
    client: Client, server: FakeServer, clock: FakeClock
) -> None:
    body = {"access_token": "t-1", "token_type": "Bearer", "expires_in": 300, "urls": {}}
    server.state.token_script.append(Answer(200, body))

    token = client.token()
    clock.advance(300 - 60 - 1)
    assert token.expires_at is None
    assert client.token() is token
    clock.advance(1)
    assert client.token() is not token


def test_a_short_lived_token_is_renewed_at_half_its_life(
    client: Client, server: FakeServer, clock: FakeClock
) -> None:
    server.state.lifetime = 60
    first = client.token()
    clock.advance(29)
    assert client.token() is first
    clock.advance(1)
    assert client.token() is not first


def test_a_wrong_secret_is_invalid_client(settings: Settings, server: FakeServer) -> None:
    with (
        Client(**(settings | {"client_secret": "wrong"}), cache=TokenCache()) as tg,
        pytest.raises(InvalidClient) as caught,
    ):
        tg.token()
    assert (caught.value.status, caught.value.error) == (403, "invalid_client")
    assert caught.value.description == "the client credentials were not accepted"


def test_a_tenant_that_has_not_accepted_the_app_is_access_denied(
    settings: Settings, server: FakeServer
) -> None:
    with (
        Client(**(settings | {"tenant_id": STRANGER_TENANT}), cache=TokenCache()) as tg,
        pytest.raises(AccessDenied) as caught,
    ):
        tg.token()
    assert (caught.value.status, caught.value.error) == (403, "access_denied")


def test_other_oauth_errors_are_token_errors_named_after_their_code(
    client: Client, server: FakeServer
) -> None:
    server.state.token_script.append(
        Answer(400, {"error": "invalid_scope", "error_description": "scope"})
    )
    server.state.token_script.append(Answer(500, None))

    with pytest.raises(InvalidScope):
        client.token()
    with pytest.raises(TokenError) as caught:
        client.token()
    assert (caught.value.status, caught.value.error) == (500, "invalid_response")


def test_slow_down_is_retried_after_the_servers_retry_after(
    client: Client, server: FakeServer, sleeps: Sleeps
) -> None:
    server.state.token_script.extend([slow_down("2"), slow_down("3")])

    client.token()

    assert sleeps == [2.0, 3.0]
    assert server.state.token_requests == 3


def test_slow_down_retries_are_bounded(client: Client, server: FakeServer, sleeps: Sleeps) -> None:
    server.state.token_script.extend(slow_down("1") for _ in range(10))

    with pytest.raises(RateLimited) as caught:
        client.token()

    assert sleeps == [1.0, 1.0, 1.0]
    assert server.state.token_requests == 4
    assert caught.value.retry_after == 1.0


def test_a_retry_after_beyond_the_total_wait_is_not_waited_for(
    settings: Settings, server: FakeServer, sleeps: Sleeps
) -> None:
    server.state.token_script.extend([slow_down("20"), slow_down("20")])
    retry = RetryPolicy(max_retries=5, max_wait=30)

    with (
        Client(**settings, cache=TokenCache(), sleep=sleeps, retry=retry) as tg,
        pytest.raises(RateLimited),
    ):
        tg.token()
    assert sleeps == [20.0]


def test_without_retry_after_the_wait_backs_off(
    client: Client, server: FakeServer, sleeps: Sleeps
) -> None:
    server.state.token_script.extend([slow_down(), slow_down(), slow_down()])

    client.token()

    assert sleeps == [1.0, 2.0, 4.0]


def test_network_down_is_a_transport_error(settings: Settings) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1/token"
    with (
        Client(**(settings | {"token_url": url}), cache=TokenCache()) as tg,
        pytest.raises(TransportError, match=r"cannot reach http://127\.0\.0\.1"),
    ):
        tg.token()


def test_from_env_reads_the_four_variables(
    settings: Settings, server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENANTGATE_TOKEN_URL", settings["token_url"])
    monkeypatch.setenv("TENANTGATE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("TENANTGATE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("TENANTGATE_TENANT_ID", TENANT_ID)

    with Client.from_env(cache=TokenCache()) as tg:
        assert tg.credentials.tenant_id == TENANT_ID
        assert tg.token().tenant_id == TENANT_ID


def test_from_env_names_a_missing_variable() -> None:
    with pytest.raises(MissingSetting, match="TENANTGATE_CLIENT_SECRET"):
        Client.from_env({"TENANTGATE_TOKEN_URL": "u", "TENANTGATE_CLIENT_ID": "c"})


def test_secrets_stay_out_of_reprs(client: Client) -> None:
    token = client.token()

    assert token.access_token not in repr(token)
    assert CLIENT_SECRET not in repr(client.credentials)
