"""DELETE /v1/token with ``x-tokens``: the token is dead from the 204 on, and the 204 reveals
nothing about tokens that were not alive."""

from __future__ import annotations

import time

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from tenantgate.storage import models as m
from tests import factories as f
from tests.conftest import ManualClock
from tests.tokens.calls import assert_oauth_error, claims, introspect, invalidate, is_active
from tests.tokens.servers import running


async def test_an_invalidated_token_is_inactive(client):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    assert await is_active(client, token)

    response = await invalidate(client, token)

    assert response.status_code == 204
    assert response.content == b""
    assert await introspect(client, token) == {"active": False}


async def test_invalidating_one_token_leaves_the_others_alive(client):
    setup = await f.accepted_setup(client)
    doomed = (await f.get_token(client, setup))["access_token"]
    kept = (await f.get_token(client, setup))["access_token"]

    await invalidate(client, doomed)

    assert await is_active(client, kept)


async def test_x_tokens_pairs_may_be_separated_by_semicolons_or_commas(client, subtests):
    setup = await f.accepted_setup(client)
    headers = {
        "semicolon, refresh token first": "refreshToken=r-123; accessToken={t}",
        "comma, refresh token last": "accessToken={t},refreshToken=r-456",
        "no spaces": "accessToken={t};refreshToken=r-789",
        "spaces around": "  accessToken = {t} ,  refreshToken = r-000 ",
    }

    for case, header in headers.items():
        token = (await f.get_token(client, setup))["access_token"]
        response = await client.delete("/v1/token", headers={"x-tokens": header.format(t=token)})
        with subtests.test(case):
            assert response.status_code == 204
            assert not await is_active(client, token)


async def test_invalidating_twice_is_still_204(client):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]

    assert (await invalidate(client, token)).status_code == 204
    assert (await invalidate(client, token)).status_code == 204


async def test_tokens_that_are_not_alive_are_answered_204_too(client, subtests):
    stranger_key = Ed25519PrivateKey.generate()
    foreign = jwt.encode(
        {"sub": "x", "exp": int(time.time()) + 600, "jti": "j"},
        stranger_key,
        algorithm="EdDSA",
        headers={"kid": "not-ours", "typ": "at+jwt"},
    )
    tokens = {"garbage": "garbage", "three dots": "a.b.c", "signed by a stranger": foreign}

    for case, token in tokens.items():
        response = await invalidate(client, token)
        with subtests.test(case):
            assert response.status_code == 204
            assert response.content == b""


async def test_an_expired_token_is_answered_204(server):
    clock = ManualClock()
    _services, client = await server(clock=clock)
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    clock.advance(901)

    assert (await invalidate(client, token)).status_code == 204
    assert not await is_active(client, token)


async def test_a_missing_or_unparseable_x_tokens_is_invalid_request(client, subtests):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    cases = {
        "missing": {},
        "empty": {"x-tokens": ""},
        "bare token": {"x-tokens": token},
        "no accessToken": {"x-tokens": f"refreshToken={token}"},
        "empty accessToken": {"x-tokens": "accessToken="},
        "a pair and some junk": {"x-tokens": f"accessToken={token}; junk"},
    }

    for case, headers in cases.items():
        response = await client.delete("/v1/token", headers=headers)
        with subtests.test(case):
            assert_oauth_error(response, 400, "invalid_request")
    assert await is_active(client, token)


async def test_the_invalidation_is_committed_before_the_204(client, settings):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    jti = claims(token)["jti"]

    assert (await invalidate(client, token)).status_code == 204

    async with running(settings, background=False) as fresh_node:
        assert jti in fresh_node.state.revoked
        async with fresh_node.db.session() as session:
            row = await session.get(m.RevokedToken, jti)
            assert row is not None and row.expires_at == claims(token)["exp"]
            events = await session.scalars(
                select(m.AuditEvent).where(m.AuditEvent.kind == "token.invalidated")
            )
            assert jti in [e.detail.get("jti") for e in events if e.detail]
