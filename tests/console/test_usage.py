"""Usage in the console: a developer sees their application on each tenant that accepted it, a
tenant admin each application on their tenant, an operator the whole gateway; each as a chart of
the last hour, with the API user's rate limit drawn across when it has one."""

from __future__ import annotations

import pytest

from tenantgate.console import usage
from tenantgate.console.web import PAGE_SIZE
from tenantgate.storage.usage_series import Point

NAMES = ("Customer one", "Customer two")


@pytest.fixture
async def accepted(services, developer, account_id):
    """The developer's application, accepted by two tenants, and a minute of its traffic."""
    registry = services.registry
    owner = await account_id(developer.email)
    application, _ = await registry.create_application("Acme sync", "test", owner_account_id=owner)
    tenants = []
    for name in NAMES:
        tenant = await registry.create_tenant(name, "eu", "cluster-a", "test")
        await registry.put_app(tenant.tenant_id, "sdmo", "http://127.0.0.1:9/sdmo", None, "test")
        await registry.put_api_user(
            tenant.tenant_id, application.application_id, "test", first_name="A", last_name="B"
        )
        tenants.append(tenant)
    tally = services.usage
    for status, code in ((200, None), (200, None), (403, "FORBIDDEN")):
        tally.record(tenants[0].tenant_id, application.application_id, "sdmo", status, code, 0.01)
    tally.record(tenants[1].tenant_id, application.application_id, "sdmo", 200, None, 0.02)
    tally.flush(everything=True)
    await services.batch.drain()
    return application, tenants


async def test_the_developer_sees_the_application_on_each_tenant(developer, accepted):
    application, _ = accepted
    detail = await developer.get(f"/console/apps/{application.application_id}")
    assert f"/apps/{application.application_id}/usage" in detail.text

    page = await developer.get(f"/console/apps/{application.application_id}/usage")

    assert page.status_code == 200
    assert "Usage of Acme sync" in page.text
    assert "On Customer one" in page.text and "On Customer two" in page.text
    assert "3 requests, 1 refused or failed" in page.text
    assert "1 requests, 0 refused or failed" in page.text
    assert "Rate limit: none" in page.text


async def test_another_developer_sees_nothing(visitors, new_account, accepted):
    application, _ = accepted
    stranger = visitors()
    await stranger.sign_in(await new_account("developer"))

    page = await stranger.get(f"/console/apps/{application.application_id}/usage")

    assert page.status_code == 404


async def test_the_tenant_admin_sees_each_application_on_their_tenant(
    visitors, new_account, accepted
):
    _, tenants = accepted
    admin = visitors(address="198.51.100.31")
    await admin.sign_in(await new_account("tenant_admin", (tenants[0].tenant_id,)))

    page = await admin.get(f"/console/tenants/{tenants[0].tenant_id}/usage")
    other = await admin.get(f"/console/tenants/{tenants[1].tenant_id}/usage")

    assert page.status_code == 200
    assert "Usage on Customer one" in page.text
    assert "<h2>Acme sync</h2>" in page.text
    assert "3 requests, 1 refused or failed" in page.text
    assert other.status_code == 404


async def test_the_operator_sees_the_whole_gateway_and_each_tenant(operator, accepted):
    overview = await operator.get("/console/overview")
    assert 'href="/console/usage"' in overview.text

    page = await operator.get("/console/usage")

    assert page.status_code == 200
    assert "The whole gateway" in page.text
    # The database is shared by the run: the tenants are a page at a time, oldest first, each
    # linked to its own usage page, which the operator may open like its admin.
    assert page.text.count('<section class="card usage">') <= PAGE_SIZE + 1
    _, tenants = accepted
    for tenant in tenants:
        own = await operator.get(f"/console/tenants/{tenant.tenant_id}/usage")
        assert own.status_code == 200
        assert f"Usage on {tenant.name}" in own.text and "<h2>Acme sync</h2>" in own.text


async def test_the_rate_limit_is_drawn_as_a_line(developer, accepted, services):
    application, tenants = accepted
    await services.registry.put_api_user(
        tenants[0].tenant_id,
        application.application_id,
        "test",
        first_name="A",
        last_name="B",
        rate_limit={"requests_per_minute": 120},
    )

    page = await developer.get(f"/console/apps/{application.application_id}/usage")

    assert page.text.count('<line class="limit"') == 1  # the other tenant sets no limit
    assert "Rate limit: 120 a minute" in page.text and "Rate limit: none" in page.text


def test_the_scale_reaches_the_limit():
    points = [Point(minute, requests=10, classes=[10, 0, 0, 0]) for minute in range(60)]

    chart = usage.layout("x", points, limit=400)

    assert chart.peak >= 400
    assert chart.limit_y is not None and chart.top <= chart.limit_y < chart.plot_bottom
    assert usage.layout("x", points).limit_y is None
