"""Tenant pages, for tenant admins (their tenants) and operators (all): the tenant's apps and
its API users. API users change through the same registry calls as the admin API, so a
disable or delete refuses live tokens at once."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from tenantgate.console.accounts import OPERATOR, TENANT_ADMIN
from tenantgate.console.errors import Conflict, InvalidInput, NotFound
from tenantgate.console.role_choice import chosen_roles, tenant_role_names
from tenantgate.console.web import PAGE_SIZE, Call, Console
from tenantgate.registry import rules
from tenantgate.registry.rates import Allowance
from tenantgate.registry.views import ApiUserView, ApplicationView, TenantView

ROLES = (TENANT_ADMIN, OPERATOR)
TENANT = "/tenants/{tenant_id:str}"
API_USER = TENANT + "/api-users/{application_id:str}"


def routes(console: Console) -> list[Route]:
    page, action = console.page, console.action
    return [
        Route("/tenants", page(list_page, *ROLES), methods=["GET"]),
        Route("/tenants", action(create_tenant, OPERATOR, retry=list_page), methods=["POST"]),
        Route(TENANT, page(tenant_page, *ROLES), methods=["GET"]),
        Route(TENANT, action(update_tenant, OPERATOR, retry=tenant_page), methods=["POST"]),
        Route(TENANT + "/apps", action(put_app, OPERATOR, retry=tenant_page), methods=["POST"]),
        Route(TENANT + "/apps/{app:str}/delete", page(delete_app_page, OPERATOR), methods=["GET"]),
        Route(TENANT + "/apps/{app:str}/delete", action(delete_app, OPERATOR), methods=["POST"]),
        Route(TENANT + "/api-users/new", page(new_api_user_page, *ROLES), methods=["GET"]),
        Route(
            TENANT + "/api-users",
            action(create_api_user, *ROLES, retry=new_api_user_page),
            methods=["POST"],
        ),
        Route(API_USER, page(api_user_page, *ROLES), methods=["GET"]),
        Route(API_USER, action(update_api_user, *ROLES, retry=api_user_page), methods=["POST"]),
        Route(API_USER + "/enable", action(enable_api_user, *ROLES), methods=["POST"]),
        Route(API_USER + "/disable", page(disable_page, *ROLES), methods=["GET"]),
        Route(API_USER + "/disable", action(disable_api_user, *ROLES), methods=["POST"]),
        Route(API_USER + "/delete", page(delete_page, *ROLES), methods=["GET"]),
        Route(API_USER + "/delete", action(delete_api_user, *ROLES), methods=["POST"]),
    ]


async def list_page(call: Call) -> Response:
    account = call.account
    wanted = None if account.is_operator else list(account.tenant_ids)
    page = await call.services.registry.list_tenants(wanted, cursor=call.cursor, limit=PAGE_SIZE)
    only_one = len(page.items) == 1 and page.next_cursor is None and call.cursor is None
    if only_one and not account.is_operator:
        return call.redirect(f"/tenants/{page.items[0].tenant_id}")
    return call.render("tenants.html", tenants=page.items, page=page, form=_form(call))


async def create_tenant(call: Call) -> Response:
    tenant = await call.services.registry.create_tenant(
        call.value("name"), call.value("region"), call.value("cluster"), call.account.actor
    )
    return call.redirect(f"/tenants/{tenant.tenant_id}", notice="tenant-created")


async def tenant_page(call: Call) -> Response:
    tenant = await _mine(call)
    registry = call.services.registry
    page = await registry.list_api_users(
        tenant_id=tenant.tenant_id, cursor=call.cursor, limit=PAGE_SIZE
    )
    names = await registry.application_names([u.application_id for u in page.items])
    rows = [(user, names.get(user.application_id)) for user in page.items]
    return call.render("tenant.html", tenant=tenant, rows=rows, page=page, form=_form(call))


async def update_tenant(call: Call) -> Response:
    tenant = await _mine(call)
    await call.services.registry.update_tenant(
        tenant.tenant_id,
        call.account.actor,
        name=call.value("name") or None,
        region=call.value("region") or None,
        cluster=call.value("cluster") or None,
        status=call.value("status") or None,
    )
    return call.redirect(f"/tenants/{tenant.tenant_id}", notice="tenant-updated")


async def put_app(call: Call) -> Response:
    tenant = await _mine(call)
    await call.services.registry.put_app(
        tenant.tenant_id,
        call.value("app"),
        call.value("graphql_url"),
        call.value("websocket_url") or None,
        call.account.actor,
    )
    return call.redirect(f"/tenants/{tenant.tenant_id}", notice="app-saved")


async def delete_app_page(call: Call) -> Response:
    tenant = await _mine(call)
    app = call.param("app")
    return call.render(
        "confirm.html",
        title=f"Remove app {app} from {tenant.name}?",
        message="Tokens stop reaching this app at once. Its upstream is not touched.",
        action=f"/tenants/{tenant.tenant_id}/apps/{app}/delete",
        button="Remove app",
        back=f"/tenants/{tenant.tenant_id}",
    )


async def delete_app(call: Call) -> Response:
    tenant = await _mine(call)
    await call.services.registry.delete_app(tenant.tenant_id, call.param("app"), call.account.actor)
    return call.redirect(f"/tenants/{tenant.tenant_id}", notice="app-deleted")


async def new_api_user_page(call: Call) -> Response:
    """Step one: the tenant admin enters an application id; the registry fills in the rest."""
    tenant = await _mine(call)
    application_id = call.value("application_id")
    application = None
    if application_id:
        application = await _lookup(call, application_id)
    return call.render(
        "api_user_new.html",
        tenant=tenant,
        application_id=application_id,
        application=application,
        email=_email(call, application.application_id) if application else None,
        first_name=call.value("first_name") or (application.name[:100] if application else ""),
        last_name=call.value("last_name") or "API user",
        chosen=_chosen_apps(call),
        roles=await tenant_role_names(call, tenant.tenant_id),
        held=chosen_roles(call),
    )


async def create_api_user(call: Call) -> Response:
    tenant = await _mine(call)
    application = await _lookup(call, call.value("application_id"))
    registry = call.services.registry
    try:
        await registry.get_api_user(tenant.tenant_id, application.application_id)
    except NotFound:
        pass
    else:
        raise Conflict("This application already has an API user here; edit that one instead.")
    await registry.put_api_user(
        tenant.tenant_id,
        application.application_id,
        call.account.actor,
        first_name=call.value("first_name"),
        last_name=call.value("last_name"),
        enabled=True,
        apps=_chosen_apps(call),
        roles=chosen_roles(call),
    )
    path = f"/tenants/{tenant.tenant_id}/api-users/{application.application_id}"
    return call.redirect(path, notice="api-user-created")


async def api_user_page(call: Call) -> Response:
    tenant, user = await _api_user(call)
    settings = call.services.settings

    def limit_value(name: str, stored: int | None) -> str:
        """What the form shows: what was typed, on a form sent back, else what is stored."""
        if call.form is not None and name in call.form:
            return call.value(name)
        return "" if stored is None else str(stored)

    return call.render(
        "api_user.html",
        tenant=tenant,
        user=user,
        application=await _application(call, user.application_id),
        chosen=_chosen_apps(call) if call.form is not None else user.apps,
        roles=await tenant_role_names(call, tenant.tenant_id),
        held=chosen_roles(call, user.roles),
        limit_value=limit_value,
        defaults=Allowance(
            settings.rate_limit_per_minute, settings.rate_limit_burst, settings.daily_quota
        ),
    )


async def update_api_user(call: Call) -> Response:
    tenant, user = await _api_user(call)
    await call.services.registry.put_api_user(
        tenant.tenant_id,
        user.application_id,
        call.account.actor,
        first_name=call.value("first_name") or user.first_name,
        last_name=call.value("last_name") or user.last_name,
        enabled=user.enabled,
        apps=_chosen_apps(call),
        roles=chosen_roles(call, user.roles),
        **_limits(call),
    )
    return call.redirect(_api_user_path(user), notice="api-user-updated")


def _limits(call: Call) -> dict[str, Any]:
    """The form's limits, each empty field the operator's default; a form without them keeps
    what the API user has."""
    if call.form is None or "requests_per_minute" not in call.form:
        return {}
    per_minute, burst = _count(call, "requests_per_minute"), _count(call, "burst")
    rate = {"requests_per_minute": per_minute, "burst": burst}
    given = {name: value for name, value in rate.items() if value is not None}
    return {"rate_limit": given or None, "daily_quota": _count(call, "daily_quota")}


def _count(call: Call, name: str) -> int | None:
    text = call.value(name).replace(",", "").replace("_", "")
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) <= 10**9:
        label = name.replace("_", " ")
        raise InvalidInput(f"{label.capitalize()}: a whole number from 1 to 1,000,000,000.")
    return int(text)


async def enable_api_user(call: Call) -> Response:
    _tenant, user = await _api_user(call)
    await call.services.registry.set_api_user_enabled(
        user.tenant_id, user.application_id, True, call.account.actor
    )
    return call.redirect(_api_user_path(user), notice="api-user-enabled")


async def disable_page(call: Call) -> Response:
    tenant, user = await _api_user(call)
    return call.render(
        "confirm.html",
        title=f"Disable the API user {user.email}?",
        message=f"The application stops getting tokens for {tenant.name}, and every token it "
        "already holds is refused from now on. You can enable it again later; only tokens "
        "issued after that will work.",
        action=_api_user_path(user) + "/disable",
        button="Disable API user",
        back=_api_user_path(user),
    )


async def disable_api_user(call: Call) -> Response:
    _tenant, user = await _api_user(call)
    await call.services.registry.set_api_user_enabled(
        user.tenant_id, user.application_id, False, call.account.actor
    )
    return call.redirect(_api_user_path(user), notice="api-user-disabled")


async def delete_page(call: Call) -> Response:
    tenant, user = await _api_user(call)
    return call.render(
        "confirm.html",
        title=f"Delete the API user {user.email}?",
        message=f"The application loses access to {tenant.name} and every token it holds is "
        "refused from now on. To let it in again, create the API user anew.",
        action=_api_user_path(user) + "/delete",
        button="Delete API user",
        back=_api_user_path(user),
    )


async def delete_api_user(call: Call) -> Response:
    tenant, user = await _api_user(call)
    await call.services.registry.delete_api_user(
        tenant.tenant_id, user.application_id, call.account.actor
    )
    return call.redirect(f"/tenants/{tenant.tenant_id}", notice="api-user-deleted")


async def _mine(call: Call) -> TenantView:
    """The tenant in the URL if the caller administers it; otherwise 404."""
    tenant_id = call.param("tenant_id")
    if not rules.TENANT_ID.fullmatch(tenant_id) or not call.account.administers(tenant_id):
        raise NotFound("No such tenant among yours.")
    return await call.services.registry.get_tenant(tenant_id)


async def _api_user(call: Call) -> tuple[TenantView, ApiUserView]:
    tenant = await _mine(call)
    application_id = call.param("application_id")
    if not rules.APPLICATION_ID.fullmatch(application_id):
        raise NotFound("This tenant has no API user for that application.")
    return tenant, await call.services.registry.get_api_user(tenant.tenant_id, application_id)


async def _lookup(call: Call, application_id: str) -> ApplicationView:
    if not rules.APPLICATION_ID.fullmatch(application_id):
        raise InvalidInput("An application id is digits only, such as 123456789.")
    try:
        return await call.services.registry.get_application(application_id)
    except NotFound:
        raise InvalidInput(f"No application has the id {application_id}.") from None


async def _application(call: Call, application_id: str) -> ApplicationView | None:
    try:
        return await call.services.registry.get_application(application_id)
    except NotFound:
        return None


def _chosen_apps(call: Call) -> list[str] | None:
    """``scope=all`` (also future apps) or ``scope=some`` with the ticked ``apps``."""
    if call.value("scope", "all") == "all":
        return None
    return call.values("apps")


def _email(call: Call, application_id: str) -> str:
    return rules.api_user_email(application_id, call.services.registry.api_user_domain)


def _api_user_path(user: ApiUserView) -> str:
    return f"/tenants/{user.tenant_id}/api-users/{user.application_id}"


def _form(call: Call) -> dict[str, str]:
    fields = ("name", "region", "cluster", "status", "app", "graphql_url", "websocket_url")
    return {name: call.value(name) for name in fields}
