"""The audit trail tells what happened to an application and a tenant, newest first: tokens
issued, refused (and why), invalidated; secrets created and retired; API users created,
disabled and deleted; who did it and when."""

from __future__ import annotations

from tests import factories as f
from tests.tokens.calls import claims, invalidate


async def audit(client, **params):
    response = await client.get("/admin/v1/audit", params=params, headers=f.ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_life_of_an_application_on_the_audit_trail(client, services):
    setup = await f.accepted_setup(client)
    app_path = f"/admin/v1/applications/{setup.application_id}"
    user_path = f"/admin/v1/tenants/{setup.tenant_id}/api-users/{setup.application_id}"
    token = (await f.get_token(client, setup))["access_token"]
    await client.post("/v1/token", data=setup.form(client_secret="tgs_wrong"))
    await services.batch.drain()  # refusals are queued, not awaited
    await f.get_token(client, setup)
    second = (await client.post(f"{app_path}/secrets", headers=f.ADMIN)).json()
    await client.delete(f"{app_path}/secrets/{setup.secret_id}", headers=f.ADMIN)
    await invalidate(client, token)
    await client.put(
        user_path, json={"first_name": "A", "last_name": "B", "enabled": False}, headers=f.ADMIN
    )
    await client.post("/v1/token", data=setup.form(client_secret=second["client_secret"]))
    await client.delete(user_path, headers=f.ADMIN)

    events = await audit(client, application_id=setup.application_id)

    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)
    kinds = [e["kind"] for e in events if e["kind"] != "token.refused"]
    assert kinds == [
        "api_user.deleted",
        "api_user.disabled",
        "token.invalidated",
        "secret.retired",
        "secret.created",
        "token.issued",
        "token.issued",
        "api_user.created",
        "secret.created",
        "application.created",
    ]
    by_kind = {}
    for event in events:
        by_kind.setdefault(event["kind"], []).append(event)
    issued = by_kind["token.issued"][-1]
    assert issued["detail"]["jti"] == claims(token)["jti"]
    assert issued["tenant_id"] == setup.tenant_id
    assert issued["actor"] == f"client:{setup.client_id}"
    assert by_kind["token.invalidated"][0]["detail"]["jti"] == claims(token)["jti"]
    assert by_kind["secret.retired"][0]["detail"]["secret_id"] == setup.secret_id
    assert by_kind["secret.created"][0]["detail"]["secret_id"] == second["secret_id"]
    for kind in ("secret.retired", "api_user.created", "api_user.disabled", "api_user.deleted"):
        assert by_kind[kind][0]["actor"] == "admin"
    for event in events:
        assert event["at"].endswith("Z")


async def test_refusals_say_which_rule_refused(client, services):
    setup = await f.accepted_setup(client)
    await client.post("/v1/token", data=setup.form(client_secret="tgs_wrong"))
    await client.post("/v1/token", data=setup.form(scope="tenantid:Dz62IqY7R8o7W6oj_mreA"))
    not_accepted = await f.tenant(client)
    await client.post("/v1/token", data=setup.form(scope=f"tenantid:{not_accepted['tenant_id']}"))
    await f.accept(client, setup.tenant_id, setup.application_id, enabled=False)
    await client.post("/v1/token", data=setup.form())
    await client.post("/v1/token", data=setup.form(client_id="who-is-this"))
    await f.accept(client, setup.tenant_id, setup.application_id)
    await services.batch.drain()  # refusals are queued, not awaited

    refused = await audit(client, kind="token.refused", application_id=setup.application_id)

    reasons = [e["reason"] for e in reversed(refused)]
    assert reasons == [
        "wrong or retired secret",
        "unknown tenant",
        "no API user for this application",
        "API user disabled",
    ]
    assert all(e["actor"] == f"client:{setup.client_id}" for e in refused)
    assert refused[0]["detail"]["error"] == "access_denied"
    assert refused[-1]["detail"]["error"] == "invalid_client"
    unknown_client = await audit(client, kind="token.refused", tenant_id=setup.tenant_id)
    assert "unknown client" in [e["reason"] for e in unknown_client]
    assert "client:who-is-this" in [e["actor"] for e in unknown_client]


async def test_the_trail_filters_by_tenant_kind_and_limit(client):
    setup = await f.accepted_setup(client)
    for _ in range(3):
        await f.get_token(client, setup)

    by_tenant = await audit(client, tenant_id=setup.tenant_id)
    issued = await audit(client, tenant_id=setup.tenant_id, kind="token.issued")
    latest_two = await audit(client, tenant_id=setup.tenant_id, kind="token.issued", limit=2)
    api_user_events = await audit(client, tenant_id=setup.tenant_id, kind="api_user.*")

    assert {e["tenant_id"] for e in by_tenant} == {setup.tenant_id}
    assert {"tenant.created", "app.put", "api_user.created", "token.issued"} <= {
        e["kind"] for e in by_tenant
    }
    assert [e["kind"] for e in issued] == ["token.issued"] * 3
    assert latest_two == issued[:2]
    assert [e["kind"] for e in api_user_events] == ["api_user.created"]
    older = await audit(client, tenant_id=setup.tenant_id, before_id=issued[0]["id"])
    assert issued[0]["id"] not in [e["id"] for e in older]
    assert issued[1] in older


async def test_the_trail_filters_by_time_in_utc(client):
    setup = await f.accepted_setup(client)
    [created] = await audit(client, tenant_id=setup.tenant_id, kind="tenant.created")
    at = created["at"].rstrip("Z")

    since_then = await audit(client, tenant_id=setup.tenant_id, since=at)
    since_forever = await audit(client, tenant_id=setup.tenant_id, since="0001-01-01T00:00:00")
    until_then = await audit(client, tenant_id=setup.tenant_id, until=at)
    in_the_future = await audit(client, tenant_id=setup.tenant_id, since="9999-12-31T00:00:00Z")

    assert created in since_then
    assert since_forever == since_then
    assert until_then == []
    assert in_the_future == []
