"""Operator pages: the live view of the last hour, accounts, and the audit trail. Tenants and
applications are the tenant and developer pages, which show an operator everything."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import Response
from starlette.routing import Route

from tenantgate.console import accounts, charts
from tenantgate.console.accounts import OPERATOR, ROLE_LABELS, ROLES
from tenantgate.console.errors import InvalidInput
from tenantgate.console.web import PAGE_SIZE, Call, Console
from tenantgate.registry.paging import MAX_LIMIT, Page
from tenantgate.registry.views import AuditView

AUDIT_KINDS = (
    "token.*",
    "token.issued",
    "token.refused",
    "token.invalidated",
    "token.revoked",
    "application.*",
    "secret.*",
    "tenant.*",
    "app.*",
    "api_user.*",
    "api_user.created",
    "api_user.disabled",
    "api_user.enabled",
    "api_user.deleted",
    "account.*",
)


def routes(console: Console) -> list[Route]:
    page, action = console.page, console.action
    return [
        Route("/overview", page(overview_page, OPERATOR), methods=["GET"]),
        Route("/overview/chart", page(chart_fragment, OPERATOR), methods=["GET"]),
        Route("/accounts", page(accounts_page, OPERATOR), methods=["GET"]),
        Route("/accounts", action(create_account, OPERATOR, retry=accounts_page), methods=["POST"]),
        Route(
            "/accounts/{account_id:int}/disable",
            action(disable_account, OPERATOR),
            methods=["POST"],
        ),
        Route(
            "/accounts/{account_id:int}/enable", action(enable_account, OPERATOR), methods=["POST"]
        ),
        Route("/audit", page(audit_page, OPERATOR), methods=["GET"]),
    ]


async def overview_page(call: Call) -> Response:
    registry = call.services.registry
    return call.render(
        "overview.html",
        chart=await _chart(call),
        tenant_count=await registry.count_tenants(),
        application_count=await registry.count_applications(),
    )


async def chart_fragment(call: Call) -> Response:
    return call.render("chart.html", chart=await _chart(call))


async def accounts_page(call: Call) -> Response:
    """The tenants to choose from are the first thousand; past them, ids are typed in."""
    tenants = await call.services.registry.list_tenants(limit=MAX_LIMIT)
    return call.render(
        "accounts.html",
        accounts=await accounts.list_accounts(call.services),
        tenants=tenants.items,
        more_tenants=tenants.next_cursor is not None,
        roles=[(role, ROLE_LABELS[role]) for role in ROLES],
        email=call.value("email"),
        role=call.value("role") or "developer",
        chosen=_tenant_ids(call),
    )


async def create_account(call: Call) -> Response:
    await accounts.create_account(
        call.services,
        call.value("email"),
        call.value("password"),
        call.value("role"),
        _tenant_ids(call),
        actor=call.account.actor,
    )
    return call.redirect("/accounts", notice="account-created")


async def disable_account(call: Call) -> Response:
    account_id = int(call.request.path_params["account_id"])
    if account_id == call.account.id:
        raise InvalidInput("You cannot disable your own account.")
    await accounts.set_disabled(call.services, account_id, True, call.account.actor)
    return call.redirect("/accounts", notice="account-disabled")


async def enable_account(call: Call) -> Response:
    account_id = int(call.request.path_params["account_id"])
    await accounts.set_disabled(call.services, account_id, False, call.account.actor)
    return call.redirect("/accounts", notice="account-enabled")


async def audit_page(call: Call) -> Response:
    filters = {
        "tenant_id": call.value("tenant_id"),
        "application_id": call.value("application_id"),
        "kind": call.value("kind"),
        "since": call.value("since"),
        "until": call.value("until"),
    }
    page: Page[AuditView] = Page([])
    try:
        page = await call.services.registry.audit(
            tenant_id=filters["tenant_id"] or None,
            application_id=filters["application_id"] or None,
            kind=filters["kind"] or None,
            since=_timestamp(filters["since"], "From"),
            until=_timestamp(filters["until"], "Until"),
            cursor=call.cursor,
            limit=PAGE_SIZE,
        )
    except InvalidInput as error:
        call.error, call.status = error.description, 400
    return call.render(
        "audit.html", events=page.items, page=page, filters=filters, kinds=AUDIT_KINDS
    )


def _tenant_ids(call: Call) -> list[str]:
    """Ticked tenants, and ids typed in (separated by commas or spaces)."""
    return [t for value in call.values("tenant_ids") for t in value.replace(",", " ").split()]


async def _chart(call: Call) -> charts.Chart:
    counts = await charts.token_minutes(call.services.db, call.services.clock())
    return charts.layout(counts)


def _timestamp(value: str, label: str) -> float | None:
    """A ``datetime-local`` value, read as UTC."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise InvalidInput(f"{label} must be a date and time such as 2026-11-28T10:15.") from None
