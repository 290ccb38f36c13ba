"""GET /metrics: Prometheus text behind a bearer token, counting what the node did, and naming
no tenant, client or app."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tenantgate.services import Services
from tenantgate.settings import Settings
from tests import factories as f
from tests.conftest import ManualClock
from tests.tokens.calls import invalidate
from tests.tokens.servers import server_factory

METRICS_TOKEN = "tgm_test-metrics-token"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_token": METRICS_TOKEN, "refapps": False})


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_need_the_metrics_or_the_admin_token(client):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        refused = await client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_token"
        assert refused.headers["www-authenticate"].startswith("Bearer")

    for token in (METRICS_TOKEN, "tga_test-admin-token"):
        allowed = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200
        assert allowed.headers["content-type"].startswith("text/plain")


async def test_metrics_count_tokens_commits_and_gateway_answers(client):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    await f.get_token(client, setup)
    await client.post("/v1/token", data=setup.form(client_secret="tgs_wrong"))
    await client.post("/v1/token", data={"grant_type": "password"})
    await invalidate(client, token)
    await client.get("/v1/fwd/cluster-release/sdmo/api")  # no token: 401

    response = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    found = samples(response.text)

    assert found[("tenantgate_tokens_issued_total", ())] == 2
    assert found[("tenantgate_token_refusals_total", (("error", "invalid_client"),))] == 1
    assert found[("tenantgate_token_refusals_total", (("error", "unsupported_grant_type"),))] == 1
    assert found[("tenantgate_tokens_invalidated_total", ())] == 1
    assert found[("tenantgate_gateway_requests_total", (("status", "401"),))] == 1
    assert found[("tenantgate_group_commit_rows_total", ())] >= 4  # 2 issued, 1 refused, 1 gone
    assert found[("tenantgate_group_commit_seconds_count", ())] >= 1
    assert found[("tenantgate_tenants", ())] >= 1
    assert found[("tenantgate_invalidated_tokens", ())] >= 1
    assert ("process_cpu_seconds_total", ()) in found
    for private in (setup.tenant_id, setup.client_id, "cluster-release", "sdmo"):
        assert private not in response.text


async def test_each_node_counts_for_itself(settings: Settings, services: Services) -> None:
    other = Services.build(settings)
    await other.open()
    try:
        services.metrics.tokens_issued.inc()
        assert services.metrics.registry.get_sample_value("tenantgate_tokens_issued_total") == 1
        assert other.metrics.registry.get_sample_value("tenantgate_tokens_issued_total") == 0
    finally:
        await other.close()


async def test_secrets_expiring_within_30_days_are_counted(settings: Settings) -> None:
    clock = ManualClock(2_500_000_000.0)  # after every expiry other tests of the run made
    day = 86400
    async with server_factory(settings) as start:
        _services, client = await start(clock=clock)

        async def counts() -> tuple[float, float]:
            response = await client.get(
                "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
            )
            found = samples(response.text)
            window = found[("tenantgate_client_secrets_expiring", (("window", "30d"),))]
            return window, found[("tenantgate_client_secrets_expired", ())]

        expiring, expired = await counts()
        soon = await client.post(
            "/admin/v1/applications",
            json={"name": "Soon", "secret_expires_in_days": 10},
            headers=f.ADMIN,
        )
        for body in ({"name": "Later", "secret_expires_in_days": 100}, {"name": "Never"}):
            await client.post("/admin/v1/applications", json=body, headers=f.ADMIN)
        assert await counts() == (expiring + 1, expired)

        clock.advance(10 * day)
        assert await counts() == (expiring + 1, expired + 1)  # expired, still counted

        clock.advance(70 * day)
        assert await counts() == (expiring + 2, expired + 1)  # "Later" is 20 days away
        application_id, secret_id = soon.json()["application_id"], soon.json()["secret_id"]
        await client.delete(
            f"/admin/v1/applications/{application_id}/secrets/{secret_id}", headers=f.ADMIN
        )
        assert await counts() == (expiring + 1, expired)
