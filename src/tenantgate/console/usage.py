"""Usage pages: the gateway's requests per minute over the last hour, as the admin API's
``/usage`` reads them (``storage.usage_series``), drawn as server-rendered SVG bars (answered by
the upstream below, refused or failed by the gateway above) with the API user's current rate
limit as a line across. A developer sees each of their applications on every tenant that
accepted it, a tenant admin each application on their tenant, an operator the whole gateway
and every tenant."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from starlette.responses import Response
from starlette.routing import Route

from tenantgate.console import developer, tenants
from tenantgate.console.accounts import DEVELOPER, OPERATOR, TENANT_ADMIN
from tenantgate.console.charts import _nice
from tenantgate.console.web import PAGE_SIZE, Call, Console
from tenantgate.registry.rates import Allowance
from tenantgate.services import Services
from tenantgate.storage.usage import percentiles
from tenantgate.storage.usage_series import Filter, Point, usage_series, window

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 180, 44, 28, 12


def routes(console: Console) -> list[Route]:
    page = console.page
    return [
        Route("/usage", page(gateway_page, OPERATOR), methods=["GET"]),
        Route(
            "/apps/{application_id:str}/usage",
            page(application_page, DEVELOPER, OPERATOR),
            methods=["GET"],
        ),
        Route(
            "/tenants/{tenant_id:str}/usage",
            page(tenant_page, TENANT_ADMIN, OPERATOR),
            methods=["GET"],
        ),
    ]


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    answered_y: float
    answered_height: float
    refused_y: float
    refused_height: float
    label: str


@dataclass(frozen=True)
class UsageChart:
    title: str
    width: int
    height: int
    left: int
    top: int
    plot_bottom: int
    plot_right: int
    peak: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]
    requests: int
    refused: int
    p95: float | None
    limit: int | None
    limit_y: float | None
    link: str | None = None
    """A page with more about what this chart sums up (an operator's tenant)."""


def layout(title: str, points: list[Point], limit: int | None = None) -> UsageChart:
    """Stacked bars in a fixed-size plot; the scale reaches the limit, so its line shows."""
    peak = _nice(max([p.requests for p in points] + [limit or 0]))
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(points), 1)
    base = TOP + plot_h
    bars = []
    for index, point in enumerate(points):
        refused = point.requests - sum(point.classes)
        answered_h, refused_h = plot_h * sum(point.classes) / peak, plot_h * refused / peak
        bars.append(
            Bar(
                round(LEFT + index * step + 1, 1),
                round(max(step - 2, 1), 1),
                round(base - answered_h, 1),
                round(answered_h, 1),
                round(base - answered_h - refused_h, 1),
                round(refused_h, 1),
                f"{_minute(point)} UTC: {point.requests} requests, {refused} refused or failed",
            )
        )
    latency = [sum(bucket) for bucket in zip(*(p.latency for p in points), strict=True)]
    (p95,) = percentiles(latency, (0.95,)) or (None,)
    return UsageChart(
        title,
        WIDTH,
        HEIGHT,
        LEFT,
        TOP,
        base,
        LEFT + plot_w,
        peak,
        bars,
        [(LEFT + i * step, _minute(points[i])) for i in range(0, len(points), 15)],
        sum(p.requests for p in points),
        sum(p.requests - sum(p.classes) for p in points),
        p95,
        limit,
        None if limit is None else round(base - plot_h * limit / peak, 1),
    )


def _minute(point: Point) -> str:
    return datetime.fromtimestamp(point.minute * 60, UTC).strftime("%H:%M")


def rate_limit(services: Services, tenant_id: str, application_id: str) -> int | None:
    """The requests-per-minute limit the gateway applies to this API user now (its own, else
    the operator's default), drawn as a line; ``None``: it has none."""
    record = services.state.api_user(tenant_id, application_id)
    if record is None:
        return None
    settings = services.settings
    defaults = Allowance(
        settings.rate_limit_per_minute, settings.rate_limit_burst, settings.daily_quota
    )
    return record.allowance.over(defaults).per_minute


async def _chart(call: Call, title: str, where: Filter, limit: int | None = None) -> UsageChart:
    start, end = window(None, None, 1, call.services.clock())
    return layout(title, await usage_series(call.services.db, where, start, end, 1), limit)


async def gateway_page(call: Call) -> Response:
    """The whole gateway, then a page of tenants at a time (the pager goes on), each linked
    to its own page with a chart per application."""
    page = await call.services.registry.list_tenants(cursor=call.cursor, limit=PAGE_SIZE)
    charts = [await _chart(call, "The whole gateway", Filter())]
    for tenant in page.items:
        chart = await _chart(call, tenant.name, Filter(tenant_id=tenant.tenant_id))
        charts.append(replace(chart, link=f"/tenants/{tenant.tenant_id}/usage"))
    return call.render("usage.html", heading="Gateway usage", back=None, charts=charts, page=page)


async def application_page(call: Call) -> Response:
    application = await developer._mine(call)
    registry = call.services.registry
    users = await registry.list_api_users(
        application_id=application.application_id, limit=PAGE_SIZE
    )
    names = await _tenant_names(call, [user.tenant_id for user in users.items])
    charts = []
    for user in users.items:
        where = Filter(tenant_id=user.tenant_id, application_id=application.application_id)
        limit = rate_limit(call.services, user.tenant_id, application.application_id)
        title = f"On {names.get(user.tenant_id, user.tenant_id)}"
        charts.append(await _chart(call, title, where, limit))
    heading = f"Usage of {application.name}"
    back = (f"/apps/{application.application_id}", application.name)
    return call.render("usage.html", heading=heading, back=back, charts=charts)


async def _tenant_names(call: Call, tenant_ids: list[str]) -> dict[str, str]:
    if not tenant_ids:
        return {}
    page = await call.services.registry.list_tenants(tenant_ids, limit=len(tenant_ids))
    return {tenant.tenant_id: tenant.name for tenant in page.items}


async def tenant_page(call: Call) -> Response:
    tenant = await tenants._mine(call)
    registry = call.services.registry
    users = await registry.list_api_users(tenant_id=tenant.tenant_id, limit=PAGE_SIZE)
    names = await registry.application_names([u.application_id for u in users.items])
    charts = []
    for user in users.items:
        where = Filter(tenant_id=tenant.tenant_id, application_id=user.application_id)
        limit = rate_limit(call.services, tenant.tenant_id, user.application_id)
        title = names.get(user.application_id, user.application_id)
        charts.append(await _chart(call, title, where, limit))
    back = (f"/tenants/{tenant.tenant_id}", tenant.name)
    return call.render("usage.html", heading=f"Usage on {tenant.name}", back=back, charts=charts)
