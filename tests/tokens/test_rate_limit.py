"""Failed token requests are counted per (client id, address), per address and, with a much
higher limit, per client id. A full window is answered 429 slow_down with Retry-After until it
has passed, even with the right secret; the owner of a client id at an address that has not
been failing is served while someone elsewhere guesses at it."""

from __future__ import annotations

from tests import factories as f
from tests.conftest import ManualClock
from tests.tokens.calls import assert_oauth_error
from tests.tokens.servers import http_client

LIMIT, PER_ADDRESS, PER_CLIENT, WINDOW = 3, 6, 9, 30.0
ELSEWHERE = "198.51.100.20"


async def limited_server(server, clock: ManualClock):
    return await server(
        clock=clock,
        failure_limit=LIMIT,
        failure_limit_per_address=PER_ADDRESS,
        failure_limit_per_client=PER_CLIENT,
        failure_window=WINDOW,
    )


async def test_repeated_wrong_secrets_block_that_client_at_that_address_for_the_window(server):
    clock = ManualClock()
    _services, client = await limited_server(server, clock)
    setup = await f.accepted_setup(client)

    for _ in range(LIMIT):
        wrong = await client.post("/v1/token", data=setup.form(client_secret="tgs_guess"))
        assert_oauth_error(wrong, 403, "invalid_client")
    blocked = await client.post("/v1/token", data=setup.form())

    assert_oauth_error(blocked, 429, "slow_down")
    assert 0 < int(blocked.headers["retry-after"]) <= WINDOW

    clock.advance(WINDOW - 5)
    still_blocked = await client.post("/v1/token", data=setup.form())
    assert_oauth_error(still_blocked, 429, "slow_down")
    assert int(still_blocked.headers["retry-after"]) <= 5

    clock.advance(5.5)
    assert (await client.post("/v1/token", data=setup.form())).status_code == 200


async def test_guessing_at_a_client_id_does_not_lock_out_its_owner_elsewhere(server):
    clock = ManualClock()
    services, attacker = await limited_server(server, clock)
    setup = await f.accepted_setup(attacker)
    other = await f.accepted_setup(attacker)
    for _ in range(LIMIT + 2):
        await attacker.post("/v1/token", data=setup.form(client_secret="tgs_guess"))

    assert_oauth_error(await attacker.post("/v1/token", data=setup.form()), 429, "slow_down")
    async with http_client(services, address=ELSEWHERE) as owner:
        assert (await owner.post("/v1/token", data=setup.form())).status_code == 200
    # below the address's own limit, the attacker's address still serves other clients
    assert (await attacker.post("/v1/token", data=other.form())).status_code == 200


async def test_a_guess_spread_over_many_addresses_meets_the_client_id_guard(server):
    clock = ManualClock()
    services, client = await limited_server(server, clock)
    setup = await f.accepted_setup(client)
    for n in range(PER_CLIENT):
        async with http_client(services, address=f"192.0.2.{n}") as guesser:
            wrong = await guesser.post("/v1/token", data=setup.form(client_secret="tgs_guess"))
            assert_oauth_error(wrong, 403, "invalid_client")

    async with http_client(services, address=ELSEWHERE) as owner:
        blocked = await owner.post("/v1/token", data=setup.form())
        assert_oauth_error(blocked, 429, "slow_down")
        clock.advance(WINDOW + 1)
        assert (await owner.post("/v1/token", data=setup.form())).status_code == 200


async def test_spraying_from_one_address_blocks_that_address_for_every_client(server):
    clock = ManualClock()
    services, client = await limited_server(server, clock)
    setup = await f.accepted_setup(client)

    for attempt in range(PER_ADDRESS):
        unknown = await client.post("/v1/token", data=setup.form(client_id=f"guess-{attempt}"))
        assert_oauth_error(unknown, 403, "invalid_client")
    blocked = await client.post("/v1/token", data=setup.form())

    assert_oauth_error(blocked, 429, "slow_down")
    assert 0 < int(blocked.headers["retry-after"]) <= WINDOW
    async with http_client(services, address=ELSEWHERE) as elsewhere:
        assert (await elsewhere.post("/v1/token", data=setup.form())).status_code == 200

    clock.advance(WINDOW + 1)
    assert (await client.post("/v1/token", data=setup.form())).status_code == 200


async def test_refusals_of_access_count_as_failures_too(server):
    clock = ManualClock()
    _services, client = await limited_server(server, clock)
    setup = await f.accepted_setup(client)
    unknown_tenant = setup.form(scope="tenantid:Dz62IqY7R8o7W6oj_mreA")

    for _ in range(LIMIT):
        assert_oauth_error(
            await client.post("/v1/token", data=unknown_tenant), 403, "access_denied"
        )

    assert_oauth_error(await client.post("/v1/token", data=setup.form()), 429, "slow_down")


async def test_failures_older_than_the_window_do_not_add_up(server):
    clock = ManualClock()
    _services, client = await limited_server(server, clock)
    setup = await f.accepted_setup(client)

    for _ in range(LIMIT * 3):
        wrong = await client.post("/v1/token", data=setup.form(client_secret="tgs_guess"))
        assert_oauth_error(wrong, 403, "invalid_client")
        clock.advance(WINDOW / (LIMIT - 1) + 1)

    assert (await client.post("/v1/token", data=setup.form())).status_code == 200


async def test_the_block_is_on_the_audit_trail(server):
    clock = ManualClock()
    services, client = await limited_server(server, clock)
    setup = await f.accepted_setup(client)
    for _ in range(LIMIT):
        await client.post("/v1/token", data=setup.form(client_secret="tgs_guess"))
    await client.post("/v1/token", data=setup.form())
    clock.advance(WINDOW + 1)
    await f.get_token(client, setup)
    services.refusals.flush()  # the minute's counts, written when it ends
    await services.batch.drain()

    response = await client.get(
        "/admin/v1/audit",
        params={"kind": "token.refused", "application_id": setup.application_id},
        headers=f.ADMIN,
    )

    events = response.json()
    wrong = [e for e in events if e["reason"] == "wrong or retired secret"]
    assert sum(e["count"] for e in wrong) == LIMIT
    assert len(wrong) == 2  # the first at once, the rest of the minute as one counted row
    refused_while_blocked = await client.get(
        "/admin/v1/audit",
        params={"kind": "token.refused", "tenant_id": setup.tenant_id},
        headers=f.ADMIN,
    )
    assert "rate_limited" in [e["reason"] for e in refused_while_blocked.json()]


async def test_guessing_at_revocation_and_introspection_counts_the_same(server):
    clock = ManualClock()
    _services, client = await limited_server(server, clock)
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    guess = {"client_id": setup.client_id, "client_secret": "tgs_guess", "token": token}

    for _ in range(LIMIT):
        wrong = await client.post("/v1/token/revoke", data=guess)
        assert_oauth_error(wrong, 403, "invalid_client")
    blocked = await client.post("/v1/token", data=setup.form())
    assert_oauth_error(blocked, 429, "slow_down")
    right = {**guess, "client_secret": setup.client_secret}
    assert_oauth_error(await client.post("/v1/token/revoke", data=right), 429, "slow_down")

    clock.advance(WINDOW + 1)
    bad_bearer = {"Authorization": "Bearer tga_guess"}
    for _ in range(LIMIT):
        refused = await client.post(
            "/v1/token/introspect", data={"token": token}, headers=bad_bearer
        )
        assert_oauth_error(refused, 403, "invalid_client")
    again = await client.post("/v1/token/introspect", data={"token": token}, headers=f.ADMIN)
    assert_oauth_error(again, 429, "slow_down")
