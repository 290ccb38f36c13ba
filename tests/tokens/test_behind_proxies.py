"""Behind trusted proxies the caller is the first untrusted hop from the right: the audit trail
names it, and what a caller writes into X-Forwarded-For neither forges nor evades anything."""

from __future__ import annotations

from tests import factories as f
from tests.conftest import ManualClock
from tests.tokens.calls import assert_oauth_error
from tests.tokens.servers import http_client

LB = "10.0.0.5"
CALLER = "198.51.100.23"


async def issued_addresses(client, setup) -> list[str]:
    response = await client.get(
        "/admin/v1/audit",
        params={"kind": "token.issued", "application_id": setup.application_id},
        headers=f.ADMIN,
    )
    return [event["detail"]["address"] for event in response.json()]


async def test_the_audit_names_the_caller_the_proxy_saw(server):
    services, _ = await server(trusted_proxies=["10.0.0.0/24"])
    async with http_client(services, address=LB) as through_lb:
        setup = await f.accepted_setup(through_lb)
        forged = {"X-Forwarded-For": f"192.0.2.1, {CALLER}"}
        response = await through_lb.post("/v1/token", data=setup.form(), headers=forged)
        assert response.status_code == 200

        assert await issued_addresses(through_lb, setup) == [CALLER]


async def test_a_direct_caller_cannot_name_an_address(server):
    _services, client = await server(trusted_proxies=["10.0.0.0/24"])
    setup = await f.accepted_setup(client)
    forged = {"X-Forwarded-For": CALLER}
    assert (await client.post("/v1/token", data=setup.form(), headers=forged)).status_code == 200

    assert await issued_addresses(client, setup) == ["203.0.113.7"]


async def test_rotating_the_left_most_entry_does_not_evade_the_limit(server):
    clock = ManualClock()
    services, _ = await server(clock=clock, trusted_proxies=[LB], failure_limit=3)
    async with http_client(services, address=LB) as through_lb:
        setup = await f.accepted_setup(through_lb)
        for attempt in range(3):
            rotated = {"X-Forwarded-For": f"192.0.2.{attempt}, {CALLER}"}
            wrong = setup.form(client_secret="tgs_guess")
            response = await through_lb.post("/v1/token", data=wrong, headers=rotated)
            assert_oauth_error(response, 403, "invalid_client")

        again = {"X-Forwarded-For": f"192.0.2.99, {CALLER}"}
        blocked = await through_lb.post("/v1/token", data=setup.form(), headers=again)

    assert_oauth_error(blocked, 429, "slow_down")
