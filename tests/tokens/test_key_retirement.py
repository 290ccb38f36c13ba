"""A retired signing key verifies only what it signed before its retirement, and leaves the
JWKS and the verifier, on a timer, once its last token is past expiry and the clock leeway.
Time claims are bounded whatever the signature: no token living longer than the configured
lifetime, none from the future (beyond the leeway)."""

from __future__ import annotations

import asyncio

import jwt

from tenantgate.tokens.keys import SigningKey
from tests import factories as f
from tests.conftest import ManualClock
from tests.tokens.calls import claims, is_active

TTL, LEEWAY = 900, 30.0


def resigned(token: str, key: SigningKey, **changes: int) -> str:
    """The token's claims, changed, signed by ``key`` (as a node with that key could)."""
    return key.sign({**claims(token), **changes})


async def test_a_retired_key_stops_verifying_tokens_issued_after_its_retirement(server):
    clock = ManualClock()
    services, client = await server(clock=clock, token_ttl=TTL, clock_leeway=LEEWAY)
    setup = await f.accepted_setup(client)
    answer = await f.get_token(client, setup)
    before, url = answer["access_token"], answer["urls"]["apps"]["sdmo"]["graphQL"]
    old = services.keys.keys[jwt.get_unverified_header(before)["kid"]]

    await services.keys.rotate("test")
    retired_at = int(clock())
    clock.advance(LEEWAY + 2)
    leaked = resigned(before, old, iat=int(clock()), exp=int(clock()) + TTL)
    late_but_within_leeway = resigned(before, old, iat=retired_at + 20, exp=retired_at + 20 + TTL)

    assert await is_active(client, before)
    assert await is_active(client, late_but_within_leeway)
    assert not await is_active(client, leaked)
    gateway = await client.post(
        url, json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {leaked}"}
    )
    assert gateway.status_code == 401


async def test_a_retired_key_leaves_the_jwks_on_time_without_a_restart(server):
    clock = ManualClock()
    services, client = await server(clock=clock, token_ttl=TTL, clock_leeway=LEEWAY)
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    old_kid = jwt.get_unverified_header(token)["kid"]
    await services.keys.rotate("test")
    await services.keys.stop()
    services.keys.start(every=0.05)  # the same timer, checking often for the test

    async def published() -> set[str]:
        return {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}

    clock.advance(LEEWAY + TTL + LEEWAY - 1)
    await asyncio.sleep(0.2)
    assert old_kid in await published()  # its last token may still be live somewhere
    assert not await is_active(client, token)  # expired for this node, though

    clock.advance(2)
    async with asyncio.timeout(2):
        while old_kid in await published():
            await asyncio.sleep(0.05)
    assert old_kid not in services.keys.keys
    assert len(await published()) == 1


async def test_time_claims_are_bounded_whatever_the_signature(server):
    clock = ManualClock()
    services, client = await server(clock=clock, token_ttl=TTL, clock_leeway=LEEWAY)
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    key = services.keys.signing
    assert key is not None
    now = int(clock())

    too_long = resigned(token, key, iat=now, exp=now + TTL + int(LEEWAY) + 1)
    long_within_leeway = resigned(token, key, iat=now, exp=now + TTL + int(LEEWAY))
    from_the_future = resigned(token, key, iat=now + int(LEEWAY) + 5, exp=now + TTL)
    slightly_ahead = resigned(token, key, iat=now + 10, exp=now + 10 + TTL)

    assert not await is_active(client, too_long)
    assert await is_active(client, long_within_leeway)
    assert not await is_active(client, from_the_future)
    assert await is_active(client, slightly_ahead)


async def test_a_load_that_read_before_a_rotation_never_puts_the_retired_key_back(server):
    """A poll of the change feed that read the keys just before a rotation committed, and is
    slow to finish, must not publish after the rotation's own load."""
    services, client = await server()
    ring = services.keys
    real_read = ring._read
    slow = asyncio.Event()
    reads = 0

    async def read_then_wait():  # the real read; the first one then waits for the test
        nonlocal reads
        reads += 1
        rows = await real_read()
        if reads == 1:
            await slow.wait()
        return rows

    ring._read = read_then_wait  # type: ignore[method-assign]
    early = asyncio.create_task(ring.load())
    while reads == 0:
        await asyncio.sleep(0)
    rotation = asyncio.create_task(ring.rotate("test"))
    # A rotation whose load does not wait its turn finishes now; one whose load does, only after.
    await asyncio.wait({rotation}, timeout=1.0)
    slow.set()
    await early
    kid = await rotation

    assert ring.signing is not None and ring.signing.kid == kid
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    assert jwt.get_unverified_header(token)["kid"] == kid
