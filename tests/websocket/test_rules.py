"""The plain rules behind /v1/ws: which token, which app, which upstream URL, and which close
code a refusal gets, at the instant the injected clock says."""

from __future__ import annotations

from typing import Any

import pytest

from tenantgate.gateway.headers import read_request_headers
from tenantgate.gateway.ws_rules import (
    Close,
    SocketAccess,
    socket_token,
    subscription_app,
    websocket_url,
)
from tenantgate.registry.state import ApiUserRecord, AppRoute, TenantRecord
from tenantgate.tokens.errors import InvalidToken
from tenantgate.tokens.verifier import Access, AccessClaims
from tests.conftest import ManualClock

TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"
OTHER = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ5In0.c2ln"


def upgrade(*authorizations: str) -> Any:
    return read_request_headers([(b"authorization", value.encode()) for value in authorizations])


@pytest.mark.parametrize(
    ("headers", "payload"),
    [
        ((f"Bearer {TOKEN}",), {}),
        ((), {"Authorization": f"Bearer {TOKEN}"}),
        ((), {"authorization": f"bearer {TOKEN}"}),
        ((), {"access_token": TOKEN}),
        ((f"Bearer {TOKEN}",), {"access_token": TOKEN, "Authorization": f"Bearer {TOKEN}"}),
    ],
)
def test_the_token_comes_from_the_header_or_the_payload(
    headers: tuple[str, ...], payload: dict[str, object]
) -> None:
    assert socket_token(upgrade(*headers), payload) == TOKEN


@pytest.mark.parametrize(
    ("headers", "payload"),
    [
        ((), {}),
        ((), {"token": TOKEN}),
        (("Basic dXNlcjpwYXNz",), {}),
        ((f"Bearer {TOKEN}", f"Bearer {TOKEN}"), {}),
        ((), {"Authorization": TOKEN}),
        ((), {"access_token": 42}),
        ((), {"access_token": f"Bearer {TOKEN}"}),
        ((f"Bearer {TOKEN}",), {"access_token": OTHER}),
    ],
)
def test_a_missing_malformed_or_ambiguous_token_is_4401(
    headers: tuple[str, ...], payload: dict[str, object]
) -> None:
    with pytest.raises(Close) as refused:
        socket_token(upgrade(*headers), payload)

    assert refused.value.code == 4401
    assert TOKEN not in refused.value.reason


def test_the_subscription_names_its_app_before_the_url_does() -> None:
    assert subscription_app({"extensions": {"app": "shopfloor"}}, "sdmo") == "shopfloor"
    assert subscription_app({"extensions": {}}, "sdmo") == "sdmo"
    assert subscription_app({}, None) is None
    assert subscription_app({"extensions": {"app": ["sdmo"]}}, "sdmo") is None


@pytest.mark.parametrize(
    ("graphql_url", "configured", "expected"),
    [
        ("http://sdmo.internal:8101/graphql", None, "ws://sdmo.internal:8101/graphql"),
        ("https://sdmo.example/api", None, "wss://sdmo.example/api"),
        ("https://sdmo.example/api", "wss://push.example/ws", "wss://push.example/ws"),
    ],
)
def test_the_upstream_socket_url_is_configured_or_derived(
    graphql_url: str, configured: str | None, expected: str
) -> None:
    assert websocket_url(AppRoute("sdmo", graphql_url, configured)) == expected


class FixedVerifier:
    def __init__(self, access: Access | None = None, reason: str | None = None) -> None:
        self.access = access
        self.reason = reason

    def verify(self, token: str) -> Access:
        if self.reason is not None:
            raise InvalidToken(self.reason)
        assert self.access is not None
        return self.access


def access(expires_at: int, apps: tuple[str, ...] = ("sdmo",)) -> Access:
    tenant = TenantRecord(
        "Dz62IqY7R8o7W6oj_mreA",
        "Tenant",
        "eu",
        "cluster-release",
        "active",
        {app: AppRoute(app, f"http://127.0.0.1:9/{app}", None) for app in apps},
    )
    claims = AccessClaims(
        "jti",
        "client",
        tenant.tenant_id,
        "123456",
        frozenset({"sdmo", "shopfloor"}),
        1,
        expires_at - 900,
        expires_at,
        "iss",
        "tenantgate",
        f"tenantid:{tenant.tenant_id}",
    )
    return Access(claims, tenant, ApiUserRecord(tenant.tenant_id, "123456", True, None, 1))


@pytest.mark.parametrize(
    ("reason", "live", "code"),
    [
        ("expired", True, 4401),
        ("invalidated", True, 4401),
        ("bad signature or claims", True, 4401),
        ("api user disabled or deleted", True, 4403),
        ("application suspended", True, 4403),
        ("tenant suspended", True, 4403),
        ("api user disabled or deleted", False, 4401),
    ],
)
def test_a_refused_token_closes_with_4401_and_withdrawn_access_with_4403(
    reason: str, live: bool, code: int
) -> None:
    checker = SocketAccess(FixedVerifier(reason=reason), TOKEN, ManualClock())  # type: ignore[arg-type]

    with pytest.raises(Close) as refused:
        checker.verify(live=live)

    assert refused.value.code == code
    assert refused.value.detail == reason


def test_an_app_in_use_that_the_tenant_no_longer_has_is_4403() -> None:
    verifier = FixedVerifier(access(2_000_000_000, apps=("shopfloor",)))
    checker = SocketAccess(verifier, TOKEN, ManualClock())  # type: ignore[arg-type]

    assert checker.check(["shopfloor"])
    with pytest.raises(Close) as refused:
        checker.check(["sdmo", "shopfloor"])

    assert refused.value.code == 4403


def test_the_next_check_comes_at_the_interval_or_at_expiry_whichever_is_sooner() -> None:
    clock = ManualClock(1_900_000_000.0)
    granted = access(expires_at=1_900_000_900)
    checker = SocketAccess(FixedVerifier(granted), TOKEN, clock)  # type: ignore[arg-type]

    assert checker.seconds_to_next_check(granted, 1.0) == 1.0
    clock.advance(899.75)
    assert checker.seconds_to_next_check(granted, 1.0) == 0.25
    clock.advance(10)
    assert checker.seconds_to_next_check(granted, 1.0) == 0.0
