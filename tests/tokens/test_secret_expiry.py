"""A client secret that expires on purpose: it works until its expiry, then it is refused
exactly like a wrong secret (403 invalid_client, the same body), the audit trail says
``secret_expired``, and the refusals count toward the failure limits. Every node knows the
expiry, since it travels with the secret."""

from __future__ import annotations

import httpx

from tenantgate.services import Services
from tests import factories as f
from tests.conftest import ManualClock
from tests.tokens.calls import assert_oauth_error, basic
from tests.tokens.servers import StartServer, http_client, running

DAY = 86400


async def expiring_setup(client: httpx.AsyncClient, days: int = 30) -> f.Setup:
    """An accepted application whose only secret expires in ``days``."""
    made = await client.post(
        "/admin/v1/applications",
        json={"name": "Expiring", "secret_expires_in_days": days},
        headers=f.ADMIN,
    )
    assert made.status_code == 201, made.text
    app = made.json()
    tenant = await f.tenant(client, f.DEFAULT_APPS)
    await f.accept(client, tenant["tenant_id"], app["application_id"])
    return f.Setup(
        app["application_id"],
        app["client_id"],
        app["client_secret"],
        app["secret_id"],
        tenant["tenant_id"],
    )


async def refusal_reasons(services: Services, client: httpx.AsyncClient, application_id: str):
    await services.batch.drain()  # refusals are queued, not awaited
    response = await client.get(
        "/admin/v1/audit",
        params={"kind": "token.refused", "application_id": application_id},
        headers=f.ADMIN,
    )
    return [event["reason"] for event in response.json()]


def headers_of(response: httpx.Response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.items() if k != "date")


async def test_a_secret_works_until_it_expires_then_is_refused_like_a_wrong_one(
    server: StartServer,
):
    clock = ManualClock()
    services, client = await server(clock=clock)
    setup = await expiring_setup(client, days=30)

    clock.advance(30 * DAY - 1)
    assert (await client.post("/v1/token", data=setup.form())).status_code == 200

    clock.advance(1)
    expired = await client.post("/v1/token", data=setup.form())
    wrong = await client.post("/v1/token", data=setup.form(client_secret="tgs_wrong"))

    assert_oauth_error(expired, 403, "invalid_client")
    assert expired.content == wrong.content
    assert headers_of(expired) == headers_of(wrong)
    reasons = await refusal_reasons(services, client, setup.application_id)
    assert reasons == ["wrong or retired secret", "secret_expired"]


async def test_an_expired_secret_authenticates_nowhere(server: StartServer):
    clock = ManualClock()
    _services, client = await server(clock=clock)
    setup = await expiring_setup(client, days=1)
    token = (await f.get_token(client, setup))["access_token"]
    clock.advance(DAY)

    revoked = await client.post(
        "/v1/token/revoke",
        data={"token": token},
        headers=basic(setup.client_id, setup.client_secret),
    )

    assert_oauth_error(revoked, 403, "invalid_client")


async def test_expired_secrets_count_toward_the_failure_limits(server: StartServer):
    clock = ManualClock()
    _services, client = await server(clock=clock, failure_limit=2)
    setup = await expiring_setup(client, days=1)
    fresh = await client.post(
        f"/admin/v1/applications/{setup.application_id}/secrets",
        json={"expires_in_days": 90},
        headers=f.ADMIN,
    )
    clock.advance(DAY)

    for _ in range(2):
        assert_oauth_error(await client.post("/v1/token", data=setup.form()), 403, "invalid_client")
    limited = await client.post(
        "/v1/token", data=setup.form(client_secret=fresh.json()["client_secret"])
    )

    assert_oauth_error(limited, 429, "slow_down")


async def test_every_node_knows_the_expiry(server: StartServer, settings):
    clock = ManualClock()
    _services, first = await server(clock=clock)
    async with running(settings, clock=clock) as other_node, http_client(other_node) as second:
        setup = await expiring_setup(first, days=7)
        await other_node.feed.poll()
        assert (await second.post("/v1/token", data=setup.form())).status_code == 200

        clock.advance(7 * DAY)

        assert_oauth_error(await second.post("/v1/token", data=setup.form()), 403, "invalid_client")
