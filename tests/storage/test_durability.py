"""What a node answered 2xx for is in the database when the answer leaves: a fresh node over
the same database sees it. And what is stored keeps secrets secret."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from tenantgate.crypto import SecretHasher, derive
from tenantgate.storage import models as m
from tests import factories as f
from tests.tokens.calls import claims, invalidate
from tests.tokens.servers import http_client, running


async def test_an_issued_token_is_on_the_audit_trail_before_the_200(client, settings):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]

    async with running(settings, background=False) as fresh_node:
        events = (
            await fresh_node.registry.audit(
                kind="token.issued", application_id=setup.application_id
            )
        ).items

    assert [e.detail["jti"] for e in events if e.detail] == [claims(token)["jti"]]
    assert events[0].tenant_id == setup.tenant_id


async def test_a_fresh_node_knows_the_registrations_and_verifies_the_tokens(client, settings):
    setup = await f.accepted_setup(client, allowed=["sdmo"])
    token = (await f.get_token(client, setup))["access_token"]

    async with running(settings) as fresh_node, http_client(fresh_node) as other:
        introspected = await other.post(
            "/v1/token/introspect", data={"token": token}, headers=f.ADMIN
        )
        issued_there = await other.post("/v1/token", data=setup.form())

    assert introspected.json()["active"] is True
    assert introspected.json()["apps"] == ["sdmo"]
    assert issued_there.status_code == 200
    assert set(issued_there.json()["urls"]["apps"]) == {"sdmo"}


async def test_withdrawals_survive_a_restart(client, settings):
    setup = await f.accepted_setup(client)
    invalidated = (await f.get_token(client, setup))["access_token"]
    await invalidate(client, invalidated)
    second = (
        await client.post(f"/admin/v1/applications/{setup.application_id}/secrets", headers=f.ADMIN)
    ).json()
    await client.delete(
        f"/admin/v1/applications/{setup.application_id}/secrets/{setup.secret_id}",
        headers=f.ADMIN,
    )
    other = await f.tenant(client, f.DEFAULT_APPS)
    await f.accept(client, other["tenant_id"], setup.application_id)
    other_form = setup.form(
        client_secret=second["client_secret"], scope=f"tenantid:{other['tenant_id']}"
    )
    of_disabled_user = (await client.post("/v1/token", data=other_form)).json()["access_token"]
    await f.accept(client, other["tenant_id"], setup.application_id, enabled=False)

    async with running(settings) as fresh_node, http_client(fresh_node) as restarted:
        assert claims(invalidated)["jti"] in fresh_node.state.revoked
        for token in (invalidated, of_disabled_user):
            introspected = await restarted.post(
                "/v1/token/introspect", data={"token": token}, headers=f.ADMIN
            )
            assert introspected.json() == {"active": False}
        retired = await restarted.post("/v1/token", data=setup.form())
        disabled = await restarted.post("/v1/token", data=other_form)

    assert retired.json()["error"] == "invalid_client"
    assert disabled.json()["error"] == "access_denied"


async def test_client_secrets_are_stored_as_a_hash_keyed_by_the_server_secret(client, services):
    app = await f.application(client)

    async with services.db.session() as session:
        stored = await session.scalar(
            select(m.ClientSecret.secret_hash).where(m.ClientSecret.secret_id == app["secret_id"])
        )

    secret = app["client_secret"]
    assert stored == services.hasher.hash(secret)
    assert stored != hashlib.sha256(secret.encode()).hexdigest()
    assert stored != SecretHasher(derive(b"another server secret", "x")).hash(secret)


async def test_signing_keys_are_encrypted_at_rest(services):
    async with services.db.session() as session:
        stored = (await session.scalars(select(m.SigningKey.private_key))).all()

    assert stored
    for private_key in stored:
        assert "PRIVATE KEY" not in private_key
        assert "MC4CAQAwBQYDK2Vw" not in private_key  # the DER prefix of an Ed25519 PKCS8 key


async def test_a_token_marks_when_its_application_secret_and_api_user_were_last_used(
    client, services
):
    setup = await f.accepted_setup(client)
    await f.get_token(client, setup)

    async with services.db.session() as session:
        application = await session.get(m.Application, setup.application_id)
        secret = await session.get(m.ClientSecret, setup.secret_id)
        api_user = await session.get(m.ApiUser, (setup.tenant_id, setup.application_id))

    assert application is not None and application.last_token_at is not None
    assert secret is not None and secret.last_used_at is not None
    assert api_user is not None and api_user.last_token_at is not None
