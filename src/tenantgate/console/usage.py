"""Usage pages: the gateway's requests as the admin API's ``/usage`` reads them
(``storage.usage_series``), drawn as server-rendered SVG bars (answered by the upstream below,
refused or failed by the gateway above). Each (tenant, application) has two charts: per minute
over the last hour, with the API user's rate limit as a line across, and per UTC day over the
last 14 days, with its daily quota as a line across. A developer sees each of their
applications on every tenant that accepted it, a tenant admin each application on their
tenant, an operator the whole gateway and every tenant (their last hour)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.responses import Response
from starlette.routing import Route

from tenantgate.console import developer, tenants
from tenantgate.console.accounts import DEVELOPER, OPERATOR, TENANT_ADMIN
from tenantgate.console.charts import _nice
from tenantgate.console.web import PAGE_SIZE, Call, Console
from tenantgate.registry.rates import UNLIMITED, Allowance
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
class View:
    """What a chart spans (``points`` steps of ``step`` minutes, the current one last), how
    its times read (``strftime`` forms), and the name of the limit drawn across it."""

    name: str
    step: int
    points: int
    heading: str
    span: str
    tick_form: str
    bar_form: str
    tick_every: int
    limit_name: str
    per: str


HOUR = View(
    name="minute",
    step=1,
    points=60,
    heading="Per minute, the last hour",
    span="the last 60 minutes",
    tick_form="%H:%M",
    bar_form="%H:%M UTC",
    tick_every=15,
    limit_name="Rate limit",
    per="a minute",
)
DAYS = View(
    name="day",
    step=1440,
    points=14,
    heading="Per day (UTC), the last 14 days",
    span="the last 14 days",
    tick_form="%d %b",
    bar_form="%Y-%m-%d UTC",
    tick_every=1,
    limit_name="Daily quota",
    per="a day",
)


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
    view: View
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

    @property
    def peak_label(self) -> str:
        """The top of the scale, short enough for the left margin: 25k, 2.5M."""
        if self.peak >= 10_000:
            for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "k")):
                if self.peak >= size:
                    return f"{self.peak / size:g}{suffix}"
        return f"{self.peak:,}"

    @property
    def limit_text(self) -> str:
        """``Daily quota: 100,000 a day``, or ``… none``."""
        amount = "none" if self.limit is None else f"{self.limit:,} {self.view.per}"
        return f"{self.view.limit_name}: {amount}"

    @property
    def limit_label(self) -> str:
        """What the line says at its end: ``daily quota 100,000``."""
        return f"{self.view.limit_name.lower()} {self.limit:,}"

    @property
    def limit_label_y(self) -> float:
        """Above the line, or below it when the line runs along the top of the plot."""
        assert self.limit_y is not None
        return self.limit_y - 4 if self.limit_y - self.top >= 14 else self.limit_y + 12


@dataclass(frozen=True)
class Panel:
    """One card: what its charts sum up, and a page with more (an operator's tenant)."""

    title: str
    charts: list[UsageChart]
    link: str | None = None


def layout(
    title: str, points: list[Point], limit: int | None = None, view: View = HOUR
) -> UsageChart:
    """Stacked bars in a fixed-size plot; the scale reaches the limit, so its line shows."""
    peak = _nice(max([p.requests for p in points] + [limit or 0]))
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(points), 1)
    base = TOP + plot_h
    bars = []
    for index, point in enumerate(points):
        refused = point.requests - sum(point.classes)
        answered_h, refused_h = plot_h * sum(point.classes) / peak, plot_h * refused / peak
        label = (
            f"{_at(point, view.bar_form)}: {point.requests} requests, {refused} refused or failed"
        )
        bars.append(
            Bar(
                round(LEFT + index * step + 1, 1),
                round(max(step - 2, 1), 1),
                round(base - answered_h, 1),
                round(answered_h, 1),
                round(base - answered_h - refused_h, 1),
                round(refused_h, 1),
                label,
            )
        )
    latency = [sum(bucket) for bucket in zip(*(p.latency for p in points), strict=True)]
    (p95,) = percentiles(latency, (0.95,)) or (None,)
    ticks = range(0, len(points), view.tick_every)
    return UsageChart(
        title,
        view,
        WIDTH,
        HEIGHT,
        LEFT,
        TOP,
        base,
        LEFT + plot_w,
        peak,
        bars,
        [(round(LEFT + i * step, 1), _at(points[i], view.tick_form)) for i in ticks],
        sum(p.requests for p in points),
        sum(p.requests - sum(p.classes) for p in points),
        p95,
        limit,
        None if limit is None else round(base - plot_h * limit / peak, 1),
    )


def _at(point: Point, form: str) -> str:
    return datetime.fromtimestamp(point.minute * 60, UTC).strftime(form)


def allowance(services: Services, tenant_id: str, application_id: str) -> Allowance:
    """The limits the gateway applies to this API user now (each its own, else the operator's
    default), drawn as lines: ``per_minute`` on the hour, ``daily`` on the days."""
    record = services.state.api_user(tenant_id, application_id)
    if record is None:
        return UNLIMITED
    settings = services.settings
    defaults = Allowance(
        settings.rate_limit_per_minute, settings.rate_limit_burst, settings.daily_quota
    )
    return record.allowance.over(defaults)


async def _chart(
    call: Call, title: str, where: Filter, limit: int | None = None, view: View = HOUR
) -> UsageChart:
    _, end = window(None, None, view.step, call.services.clock())
    start = end - view.points * view.step
    points = await usage_series(call.services.db, where, start, end, view.step)
    return layout(title, points, limit, view)


async def _api_user(call: Call, title: str, tenant_id: str, application_id: str) -> Panel:
    """The hour with the rate limit, the days with the daily quota."""
    where = Filter(tenant_id=tenant_id, application_id=application_id)
    limits = allowance(call.services, tenant_id, application_id)
    hour = await _chart(call, title, where, limits.per_minute, HOUR)
    days = await _chart(call, title, where, limits.daily, DAYS)
    return Panel(title, [hour, days])


async def gateway_page(call: Call) -> Response:
    """The whole gateway, then a page of tenants at a time (the pager goes on), each linked
    to its own page with a chart per application."""
    page = await call.services.registry.list_tenants(cursor=call.cursor, limit=PAGE_SIZE)
    whole = "The whole gateway"
    panels = [Panel(whole, [await _chart(call, whole, Filter())])]
    for tenant in page.items:
        chart = await _chart(call, tenant.name, Filter(tenant_id=tenant.tenant_id))
        panels.append(Panel(tenant.name, [chart], f"/tenants/{tenant.tenant_id}/usage"))
    return call.render("usage.html", heading="Gateway usage", back=None, panels=panels, page=page)


async def application_page(call: Call) -> Response:
    application = await developer._mine(call)
    registry = call.services.registry
    users = await registry.list_api_users(
        application_id=application.application_id, limit=PAGE_SIZE
    )
    names = await _tenant_names(call, [user.tenant_id for user in users.items])
    panels = []
    for user in users.items:
        title = f"On {names.get(user.tenant_id, user.tenant_id)}"
        panels.append(await _api_user(call, title, user.tenant_id, application.application_id))
    heading = f"Usage of {application.name}"
    back = (f"/apps/{application.application_id}", application.name)
    return call.render("usage.html", heading=heading, back=back, panels=panels)


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
    panels = []
    for user in users.items:
        title = names.get(user.application_id, user.application_id)
        panels.append(await _api_user(call, title, tenant.tenant_id, user.application_id))
    back = (f"/tenants/{tenant.tenant_id}", tenant.name)
    return call.render("usage.html", heading=f"Usage on {tenant.name}", back=back, panels=panels)
