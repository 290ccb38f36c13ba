"""Registering an application, reading it back, suspending it, and rotating its secret
without downtime."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from tenantgate.storage import models as m
from tests import factories as f
from tests.tokens.calls import assert_oauth_error

CREATED_FIELDS = {"application_id", "client_id", "client_secret", "secret_id", "name", "status"}


async def test_registration_answers_the_credentials_once(client):
    response = await client.post(
        "/admin/v1/applications", json={"name": "Acme integration"}, headers=f.ADMIN
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) >= CREATED_FIELDS
    assert re.fullmatch(r"[0-9]+", body["application_id"])
    assert body["client_id"]
    assert body["client_secret"].startswith("tgs_")
    assert len(body["client_secret"]) - len("tgs_") >= 43  # 256 bits in base64url
    assert re.fullmatch(r"[A-Za-z0-9_-]+", body["client_secret"][len("tgs_") :])
    assert body["secret_id"]
    assert body["name"] == "Acme integration"
    assert body["status"] == "active"


async def test_every_registration_gets_its_own_ids_and_secret(client):
    first, second = await f.application(client), await f.application(client)

    for field in ("application_id", "client_id", "client_secret", "secret_id"):
        assert first[field] != second[field]


async def test_reading_an_application_shows_secret_hints_never_secrets(client, services):
    label = f"hints-{uuid.uuid4().hex}"  # the database is shared: find this one on its page
    made = await client.post(
        "/admin/v1/applications", json={"name": "Acme integration", "owner": label}, headers=f.ADMIN
    )
    assert made.status_code == 201, made.text
    created = made.json()

    response = await client.get(
        f"/admin/v1/applications/{created['application_id']}", headers=f.ADMIN
    )
    listed = await client.get("/admin/v1/applications", params={"owner": label}, headers=f.ADMIN)

    assert response.status_code == 200
    body = response.json()
    assert body["application_id"] == created["application_id"]
    assert body["client_id"] == created["client_id"]
    assert body["name"] == "Acme integration"
    assert body["status"] == "active"
    assert "client_secret" not in body
    [secret] = body["secrets"]
    assert secret["secret_id"] == created["secret_id"]
    assert secret["retired_at"] is None
    assert len(secret["hint"]) < 16
    assert created["client_secret"] not in response.text
    assert created["client_secret"][len("tgs_") :][:12] not in response.text
    assert listed.status_code == 200
    assert created["application_id"] in [a["application_id"] for a in listed.json()]
    assert created["client_secret"] not in listed.text


async def test_only_a_keyed_hash_of_the_secret_is_stored(client, services):
    created = await f.application(client)

    async with services.db.session() as session:
        stored = await session.scalar(
            select(m.ClientSecret.secret_hash).where(
                m.ClientSecret.secret_id == created["secret_id"]
            )
        )

    secret = created["client_secret"]
    assert stored and stored != secret
    assert secret not in stored and secret[len("tgs_") :] not in stored
    assert re.fullmatch(r"[0-9a-f]{64}", stored)


async def test_a_suspended_application_gets_no_token_until_it_is_active_again(client):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]

    suspended = await client.patch(
        f"/admin/v1/applications/{setup.application_id}",
        json={"status": "suspended"},
        headers=f.ADMIN,
    )

    assert suspended.status_code == 200
    assert suspended.json()["status"] == "suspended"
    assert_oauth_error(await client.post("/v1/token", data=setup.form()), 403, "invalid_client")
    introspected = await client.post("/v1/token/introspect", data={"token": token}, headers=f.ADMIN)
    assert introspected.json() == {"active": False}

    reactivated = await client.patch(
        f"/admin/v1/applications/{setup.application_id}",
        json={"status": "active"},
        headers=f.ADMIN,
    )
    assert reactivated.json()["status"] == "active"
    assert (await client.post("/v1/token", data=setup.form())).status_code == 200


async def test_secret_rotation_without_downtime(client):
    setup = await f.accepted_setup(client)
    path = f"/admin/v1/applications/{setup.application_id}/secrets"

    added = await client.post(path, headers=f.ADMIN)
    assert added.status_code == 201
    second = added.json()
    assert set(second) >= {"secret_id", "client_secret"}
    assert second["client_secret"].startswith("tgs_")
    assert second["client_secret"] != setup.client_secret
    for secret in (setup.client_secret, second["client_secret"]):
        response = await client.post("/v1/token", data=setup.form(client_secret=secret))
        assert response.status_code == 200, response.text

    third = await client.post(path, headers=f.ADMIN)
    assert third.status_code == 409
    assert third.json()["error"] == "conflict"
    assert set(third.json()) == {"error", "error_description"}

    retired = await client.delete(f"{path}/{setup.secret_id}", headers=f.ADMIN)
    assert retired.status_code == 204
    assert_oauth_error(await client.post("/v1/token", data=setup.form()), 403, "invalid_client")
    still = await client.post("/v1/token", data=setup.form(client_secret=second["client_secret"]))
    assert still.status_code == 200

    shown = await client.get(f"/admin/v1/applications/{setup.application_id}", headers=f.ADMIN)
    secrets = {s["secret_id"]: s for s in shown.json()["secrets"]}
    assert secrets[setup.secret_id]["retired_at"] is not None
    assert secrets[second["secret_id"]]["retired_at"] is None
    assert second["client_secret"] not in shown.text
    assert (await client.post(path, headers=f.ADMIN)).status_code == 201


async def test_retiring_a_secret_twice_is_harmless_and_an_unknown_one_is_404(client):
    app = await f.application(client)
    path = f"/admin/v1/applications/{app['application_id']}/secrets"
    await client.post(path, headers=f.ADMIN)

    assert (await client.delete(f"{path}/{app['secret_id']}", headers=f.ADMIN)).status_code == 204
    assert (await client.delete(f"{path}/{app['secret_id']}", headers=f.ADMIN)).status_code == 204
    unknown = await client.delete(f"{path}/sec_doesnotexist", headers=f.ADMIN)
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"


async def test_a_secret_of_another_application_cannot_be_retired_through_this_one(client):
    mine, theirs = await f.application(client), await f.application(client)

    response = await client.delete(
        f"/admin/v1/applications/{mine['application_id']}/secrets/{theirs['secret_id']}",
        headers=f.ADMIN,
    )

    assert response.status_code == 404
    shown = await client.get(f"/admin/v1/applications/{theirs['application_id']}", headers=f.ADMIN)
    assert shown.json()["secrets"][0]["retired_at"] is None
