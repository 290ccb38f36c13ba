"""The embedded demo: created once, a fresh secret at every start, and it really works."""

from tenantgate.demo import ensure_demo, instructions


async def test_the_demo_is_created_once_and_gets_a_new_secret_each_start(client, services):
    first = await ensure_demo(services, "http://127.0.0.1:8000")
    again = await ensure_demo(services, "http://127.0.0.1:8000")
    assert (again.application_id, again.tenant_id) == (first.application_id, first.tenant_id)
    assert again.client_secret != first.client_secret

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
