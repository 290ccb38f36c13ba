"""A token issued by a node whose clock runs ahead is not live yet on a node whose clock does
not (its ``iat`` is past the leeway), but it will be: ending it there must hold when it would
have become live. (Found by tests/properties: the 204 came, and the token later worked.)"""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.conftest import ManualClock
from tests.tokens.calls import basic, introspect, invalidate, is_active

LEEWAY, AHEAD = 30.0, 60


async def end_by_invalidation(client, setup, token):
    return await invalidate(client, token)


async def end_by_revocation(client, setup, token):
    headers = basic(setup.client_id, setup.client_secret)
    return await client.post("/v1/token/revoke", data={"token": token}, headers=headers)


@pytest.mark.parametrize("end", [end_by_invalidation, end_by_revocation])
async def test_a_token_from_a_clock_ahead_ended_before_it_is_live_stays_ended(server, end):
    clock = ManualClock()
    _, here = await server(clock=clock, clock_leeway=LEEWAY)
    setup = await f.accepted_setup(here)
    _, ahead = await server(clock=ManualClock(clock.now + AHEAD), clock_leeway=LEEWAY)
    token = (await f.get_token(ahead, setup))["access_token"]
    assert not await is_active(here, token)  # issued a minute ahead of this node's clock

    response = await end(here, setup, token)
    clock.advance(AHEAD)  # this node's clock reaches the token's iat

    assert response.status_code in (200, 204)
    assert await introspect(here, token) == {"active": False}
