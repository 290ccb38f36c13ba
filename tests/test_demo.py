"""The embedded demo: created once, reused (and said so) with a fresh secret at every later
start, and it really works."""

import shlex

from tenantgate.demo import DemoCredentials, ensure_demo, exports, instructions


async def test_the_demo_is_created_once_and_gets_a_new_secret_each_start(client, services):
    first = await ensure_demo(services, "http://127.0.0.1:8000")
    again = await ensure_demo(services, "http://127.0.0.1:8000")
    assert (again.application_id, again.tenant_id) == (first.application_id, first.tenant_id)
    assert again.client_secret != first.client_secret
    assert again.reused
    assert "Reusing the demo tenant and application" in instructions(again, "http://h")

    def form(secret: str) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_id": again.client_id,
            "client_secret": secret,
            "scope": f"tenantid:{again.tenant_id}",
        }

    assert (await client.post("/v1/token", data=form(first.client_secret))).status_code == 403
    answer = await client.post("/v1/token", data=form(again.client_secret))
    assert answer.status_code == 200
    assert set(answer.json()["urls"]["apps"]) == {"sdmo", "shopfloor"}
    text = instructions(again, "http://127.0.0.1:8000")
    assert again.client_secret in text and "/v1/fwd/cluster-release/sdmo/api" in text


def test_the_demo_prints_the_variables_of_the_sdk_and_the_token_command():
    demo = DemoCredentials("123", "client", "tgs_secret", "tenant")

    line = exports(demo, "http://127.0.0.1:8000")

    assert shlex.split(line) == [
        "export",
        "TENANTGATE_TOKEN_URL=http://127.0.0.1:8000/v1/token",
        "TENANTGATE_CLIENT_ID=client",
        "TENANTGATE_CLIENT_SECRET=tgs_secret",
        "TENANTGATE_TENANT_ID=tenant",
    ]
    assert line in instructions(demo, "http://127.0.0.1:8000")
    assert "Reusing" not in instructions(demo, "http://127.0.0.1:8000")


async def test_the_demo_has_a_read_only_integration_whose_mutations_are_refused(client, services):
    first = await ensure_demo(services, "http://127.0.0.1:8000")
    again = await ensure_demo(services, "http://127.0.0.1:8000")
    assert first.reader is not None and again.reader is not None
    assert again.reader.application_id == first.reader.application_id
    assert again.reader.client_secret != first.reader.client_secret
    user = await services.registry.get_api_user(again.tenant_id, again.reader.application_id)
    assert user.roles == ["sdmo-reader"]
    role = await services.registry.roles.get(again.tenant_id, "sdmo-reader")
    assert {g["app"]: g["operations"] for g in role.grants} == {
        "sdmo": ["query", "subscription"],
        "shopfloor": ["query", "subscription"],
    }
    form = {
        "grant_type": "client_credentials",
        "client_id": again.reader.client_id,
        "client_secret": again.reader.client_secret,
        "scope": f"tenantid:{again.tenant_id}",
    }
    token = (await client.post("/v1/token", data=form)).json()["access_token"]

    refused = await client.post(
        "/v1/fwd/cluster-release/sdmo/api",
        headers={"Authorization": f"Bearer {token}"},
        json={"query": 'mutation { postSalesOrder(id: "so_1") { number } }'},
    )

    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"] == {
        "code": "FORBIDDEN",
        "operation": "mutation",
        "field": "postSalesOrder",
    }
    text = instructions(again, "http://127.0.0.1:8000")
    assert again.reader.client_secret in text and "postSalesOrder" in text
