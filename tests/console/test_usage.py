"""Usage in the console: a developer sees their application on each tenant that accepted it, a
tenant admin each application on their tenant, an operator the whole gateway; each as a chart of
the last hour with the API user's rate limit drawn across, and of the last 14 days with its
daily quota drawn across, when it has one."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET

import pytest

from tenantgate.console import usage
from tenantgate.console.web import PAGE_SIZE
from tenantgate.storage.usage import UsageTally
from tenantgate.storage.usage_series import Point
from tests.conftest import ManualClock

NAMES = ("Customer one", "Customer two")
DAY = 86400


@pytest.fixture
def settings(settings, request):
    """The console's settings, with the operator's defaults a test asks for (indirectly)."""
    return settings.model_copy(update=getattr(request, "param", {}))


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


async def _days_ago(services, days, tenant_id, application_id, requests):
    """Gateway traffic of ``days`` days ago, counted and written as a node does."""
    tally = UsageTally(services.batch, ManualClock(time.time() - days * DAY))
    for _ in range(requests):
        tally.record(tenant_id, application_id, "sdmo", 200, None, 0.01)
    tally.flush(everything=True)
    await services.batch.drain()


def day_charts(html):
    """Each per-day chart's SVG, by the title of its card."""
    cards = re.findall(r"<h2>(.*?)</h2>\s*(.*?)</section>", html, re.S)
    found = {}
    for title, body in cards:
        figure = re.search(r'<figure class="chart per-day">.*?</figure>', body, re.S)
        if figure:
            found[title] = ET.fromstring(figure.group(0)).find("svg")
    return found


def scale(svg):
    """The plot's top and bottom, and the count its top stands for."""
    top = float(svg.find("line[@class='grid']").get("y1"))
    bottom = float(svg.find("line[@class='axis']").get("y1"))
    peak = re.search(r"the scale reaches ([\d,]+)", svg.get("aria-label")).group(1)
    return top, bottom, int(peak.replace(",", ""))


def quota_share(svg):
    """How far up the scale the daily-quota line is drawn (1: its top); ``None``: no line."""
    line = svg.find("g[@class='limit-line']/line[@class='limit']")
    if line is None:
        return None
    top, bottom, peak = scale(svg)
    return (bottom - float(line.get("y1"))) / (bottom - top) * peak


def bar_heights(svg):
    """Each drawn day's requests, read back from its bars' heights against the scale."""
    top, bottom, peak = scale(svg)
    return [
        round(sum(float(r.get("height")) for r in g.findall("rect")) / (bottom - top) * peak)
        for g in svg.findall("g")
        if g.get("class") is None
    ]


async def test_the_daily_quota_is_drawn_across_the_days(developer, accepted, services):
    application, tenants = accepted
    await services.registry.put_api_user(
        tenants[0].tenant_id,
        application.application_id,
        "test",
        first_name="A",
        last_name="B",
        daily_quota=2500,
    )
    await _days_ago(services, 3, tenants[0].tenant_id, application.application_id, 40)

    page = await developer.get(f"/console/apps/{application.application_id}/usage")

    charts = day_charts(page.text)
    quota, none = charts["On Customer one"], charts["On Customer two"]
    assert quota_share(quota) == pytest.approx(2500, abs=5)
    assert scale(quota)[2] >= 2500
    assert bar_heights(quota) == [pytest.approx(40, abs=1), pytest.approx(3, abs=1)]
    assert quota.find("g[@class='limit-line']/text").text == "daily quota 2,500"
    assert "daily quota: 2,500 a day" in quota.get("aria-label")
    assert "Daily quota: 2,500 a day" in page.text and "Daily quota: none" in page.text
    assert quota_share(none) is None and "quota" not in none.get("aria-label")
    assert "43 requests, 1 refused or failed in the last 14 days" in quota.get("aria-label")


@pytest.mark.parametrize("settings", [{"daily_quota": 40}], indirect=True, ids=["default"])
async def test_the_operators_default_quota_applies_to_an_api_user_without_one(
    operator, accepted, services
):
    application, tenants = accepted
    await services.registry.put_api_user(
        tenants[1].tenant_id,
        application.application_id,
        "test",
        first_name="A",
        last_name="B",
        daily_quota=25,
    )
    await _days_ago(services, 1, tenants[0].tenant_id, application.application_id, 45)

    own = await operator.get(f"/console/tenants/{tenants[0].tenant_id}/usage")
    other = await operator.get(f"/console/tenants/{tenants[1].tenant_id}/usage")

    default = day_charts(own.text)["Acme sync"]
    assert scale(default)[2] == 50  # the busiest day (45) is over the quota: the scale reaches it
    assert quota_share(default) == pytest.approx(40, abs=0.1)
    assert "Daily quota: 40 a day" in own.text
    assert quota_share(day_charts(other.text)["Acme sync"]) == pytest.approx(25, abs=0.1)


def test_the_scale_reaches_the_daily_quota():
    points = [Point(day * 1440, requests=300, classes=[300, 0, 0, 0]) for day in range(14)]

    chart = usage.layout("x", points, limit=100_000, view=usage.DAYS)

    assert chart.peak >= 100_000 and chart.peak_label == "100k"
    assert chart.limit_y is not None and chart.top <= chart.limit_y < chart.plot_bottom
    assert chart.limit_label == "daily quota 100,000"
    assert chart.limit_text == "Daily quota: 100,000 a day"
    assert [label for _, label in chart.ticks][:2] == ["01 Jan", "02 Jan"]
    assert usage.layout("x", points, view=usage.DAYS).limit_text == "Daily quota: none"


@pytest.mark.parametrize(
    ("limit", "label"),
    [(20, "25"), (5000, "5,000"), (25_000, "25k"), (2_500_000, "2.5M"), (10**9, "1B")],
)
def test_the_top_of_the_scale_fits_the_margin(limit, label):
    assert usage.layout("x", [Point(0)], limit=limit, view=usage.DAYS).peak_label == label
