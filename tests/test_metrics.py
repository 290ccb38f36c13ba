"""GET /metrics: Prometheus text behind a bearer token, counting what the node did, and naming
no tenant, client or app."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tenantgate.services import Services
from tenantgate.settings import Settings
from tests import factories as f
from tests.tokens.calls import invalidate

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
