"""An operator gives a client secret an expiry (``expires_in_days``, or the default lifetime),
reads each secret's expiry back, finds the applications whose secrets expire soon, and
rotates: an expired secret never blocks adding a new one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from tests import factories as f
from tests.conftest import ManualClock
from tests.tokens.servers import StartServer

DAY = 86400


def at(clock: ManualClock, days: float) -> str:
    """The admin API's ISO 8601 for ``days`` from the clock's now."""
    moment = datetime.fromtimestamp(clock.now + days * DAY, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


async def register(client: httpx.AsyncClient, **body: object) -> dict:
    made = await client.post(
        "/admin/v1/applications", json={"name": "Expiring", **body}, headers=f.ADMIN
    )
    assert made.status_code == 201, made.text
    return made.json()


async def add_secret(client: httpx.AsyncClient, application_id: str, **kw: object):
    return await client.post(
        f"/admin/v1/applications/{application_id}/secrets", headers=f.ADMIN, **kw
    )


async def secrets_of(client: httpx.AsyncClient, application_id: str) -> dict[str, dict]:
    shown = await client.get(f"/admin/v1/applications/{application_id}", headers=f.ADMIN)
    return {s["secret_id"]: s for s in shown.json()["secrets"]}


async def test_each_secret_shows_when_it_expires(server: StartServer):
    clock = ManualClock()
    _services, client = await server(clock=clock)
    app = await register(client, secret_expires_in_days=30)
    application_id = app["application_id"]

    with_expiry = await add_secret(client, application_id, json={"expires_in_days": 90})

    assert app["secret_expires_at"] == at(clock, 30)
    assert with_expiry.status_code == 201, with_expiry.text
    assert with_expiry.json()["expires_at"] == at(clock, 90)
    shown = await secrets_of(client, application_id)
    assert shown[app["secret_id"]]["expires_at"] == at(clock, 30)
    assert shown[with_expiry.json()["secret_id"]]["expires_at"] == at(clock, 90)


async def test_without_a_lifetime_a_secret_never_expires(client):
    app = await register(client)
    no_body = await add_secret(client, app["application_id"])

    assert app["secret_expires_at"] is None
    assert no_body.status_code == 201 and no_body.json()["expires_at"] is None
    shown = await secrets_of(client, app["application_id"])
    assert {s["expires_at"] for s in shown.values()} == {None}


async def test_the_default_lifetime_applies_unless_a_request_names_its_own(server: StartServer):
    clock = ManualClock()
    _services, client = await server(clock=clock, secret_lifetime_days=30)
    app = await register(client)
    application_id = app["application_id"]

    no_body = await add_secret(client, application_id)
    await client.delete(
        f"/admin/v1/applications/{application_id}/secrets/{app['secret_id']}", headers=f.ADMIN
    )
    empty = await add_secret(client, application_id, json={"expires_in_days": None})
    await client.delete(
        f"/admin/v1/applications/{application_id}/secrets/{no_body.json()['secret_id']}",
        headers=f.ADMIN,
    )
    own = await add_secret(client, application_id, json={"expires_in_days": 365})

    assert app["secret_expires_at"] == at(clock, 30)
    assert no_body.json()["expires_at"] == at(clock, 30)
    assert empty.json()["expires_at"] == at(clock, 30)
    assert own.json()["expires_at"] == at(clock, 365)


@pytest.mark.parametrize("days", [0, -1, 3651, "90", True, 1.5, [90]])
async def test_a_lifetime_out_of_range_or_not_whole_days_is_400(client, days):
    app = await f.application(client)

    added = await add_secret(client, app["application_id"], json={"expires_in_days": days})
    registered = await client.post(
        "/admin/v1/applications",
        json={"name": "x", "secret_expires_in_days": days},
        headers=f.ADMIN,
    )

    for response, field in ((added, "expires_in_days"), (registered, "secret_expires_in_days")):
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"
        assert set(response.json()) == {"error", "error_description"}
        assert field in response.json()["error_description"]
    assert len(await secrets_of(client, app["application_id"])) == 1


async def test_an_expired_secret_does_not_block_rotation(server: StartServer):
    clock = ManualClock()
    _services, client = await server(clock=clock)
    app = await register(client, secret_expires_in_days=1)
    application_id = app["application_id"]
    assert (await add_secret(client, application_id)).status_code == 201
    assert (await add_secret(client, application_id)).status_code == 409  # two active

    clock.advance(DAY)
    third = await add_secret(client, application_id)
    fourth = await add_secret(client, application_id)

    assert third.status_code == 201, third.text
    assert fourth.status_code == 409
    shown = await secrets_of(client, application_id)
    assert len(shown) == 3 and all(s["retired_at"] is None for s in shown.values())


async def test_the_list_finds_applications_whose_secrets_expire_soon(server: StartServer):
    clock = ManualClock()
    _services, client = await server(clock=clock)
    label = f"expiring-{uuid.uuid4().hex}"  # the database is shared: only this test's
    soon = await register(client, owner=label, secret_expires_in_days=10)
    later = await register(client, owner=label, secret_expires_in_days=100)
    never = await register(client, owner=label)
    retired = await register(client, owner=label, secret_expires_in_days=5)
    await add_secret(client, retired["application_id"])
    await client.delete(
        f"/admin/v1/applications/{retired['application_id']}/secrets/{retired['secret_id']}",
        headers=f.ADMIN,
    )

    async def expiring(days: int) -> set[str]:
        listed = await client.get(
            "/admin/v1/applications",
            params={"owner": label, "expiring_within_days": days},
            headers=f.ADMIN,
        )
        assert listed.status_code == 200, listed.text
        return {a["application_id"] for a in listed.json()}

    assert await expiring(30) == {soon["application_id"]}
    assert await expiring(365) == {soon["application_id"], later["application_id"]}
    assert await expiring(0) == set()
    clock.advance(11 * DAY)
    assert await expiring(0) == {soon["application_id"]}  # expired: still listed
    assert never["application_id"] not in await expiring(3650)
    bad = await client.get(
        "/admin/v1/applications", params={"expiring_within_days": -1}, headers=f.ADMIN
    )
    assert bad.status_code == 400


async def test_the_openapi_document_describes_expiry(client):
    document = (await client.get("/admin/v1/openapi.json")).json()
    schemas, paths = document["components"]["schemas"], document["paths"]

    assert "expires_at" in schemas["SecretOut"]["properties"]
    assert "expires_at" in schemas["NewSecretOut"]["properties"]
    assert "secret_expires_at" in schemas["ApplicationCreated"]["properties"]
    assert "secret_expires_in_days" in schemas["ApplicationIn"]["properties"]
    assert schemas["SecretIn"]["properties"]["expires_in_days"]["anyOf"][0]["maximum"] == 3650
    add = paths["/applications/{application_id}/secrets"]["post"]
    assert add["requestBody"].get("required") is not True
    listing = {p["name"] for p in paths["/applications"]["get"]["parameters"]}
    assert "expiring_within_days" in listing
