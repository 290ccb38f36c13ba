"""Operator commands: applications, tenants, API users, audit, keys."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tenantgate.cli._run import ACTOR, run, show, show_all
from tenantgate.cli.failures import EXIT_USAGE

if TYPE_CHECKING:
    from tenantgate.registry.paging import Page
    from tenantgate.registry.views import ApplicationView
    from tenantgate.services import Services

JSON = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ApplicationId = Annotated[str, typer.Argument(help="The application's id (app create, app list).")]
TenantId = Annotated[str, typer.Argument(help="The tenant's id (tenant create, tenant list).")]
AppName = Annotated[str, typer.Argument(help="The app's name, as in urls.apps (e.g. sdmo).")]
TenantOption = Annotated[str | None, typer.Option(help="Only this tenant's events.")]
ApplicationOption = Annotated[str | None, typer.Option(help="Only this application's events.")]
DAYS = re.compile(r"([0-9]{1,4})d?")
MAX_DAYS = 3650
DAY = 86400

apps = typer.Typer(help="Applications in the app registry.", no_args_is_help=True)
tenants = typer.Typer(help="Tenants and their apps.", no_args_is_help=True)
api_users = typer.Typer(help="API users: a tenant accepting an application.", no_args_is_help=True)
keys = typer.Typer(help="Token signing keys.", no_args_is_help=True)


@apps.command("create")
def app_create(
    name: Annotated[str, typer.Argument(help="The application's name, shown to tenants.")],
    owner: Annotated[
        str | None, typer.Option(help="A contact label, e.g. an e-mail; it grants nothing.")
    ] = None,
    secret_expires_in_days: Annotated[
        str | None,
        typer.Option(help="Days the first secret works (90 or 90d); default: the setting."),
    ] = None,
    json: JSON = False,
) -> None:
    """Register an application; prints its client secret once."""
    days = lifetime("--secret-expires-in-days", secret_expires_in_days)
    view, secret = run(
        lambda s: s.registry.create_application(
            name, ACTOR, owner=owner, secret_expires_in_days=days
        )
    )
    show(
        {
            "application_id": view.application_id,
            "client_id": view.client_id,
            "client_secret": secret.client_secret,
            "secret_id": secret.secret_id,
            "secret_expires_at": secret.expires_at,
            "name": view.name,
            "status": view.status,
        },
        json,
    )


@apps.command("get")
def app_get(application_id: ApplicationId, json: JSON = False) -> None:
    """One application, its secrets' hints included."""
    show(run(lambda s: s.registry.get_application(application_id)), json)


@apps.command("list")
def app_list(
    expiring: Annotated[
        str | None,
        typer.Option(
            help="Only secrets that expire within this many days (30d or 30) or have expired, "
            "one entry each with its application."
        ),
    ] = None,
    json: JSON = False,
) -> None:
    """Every application, oldest first."""
    if expiring is None:
        show_all(
            lambda s, cursor, limit: s.registry.list_applications(cursor=cursor, limit=limit),
            json,
        )
        return
    within = days_option("--expiring", expiring, low=0)

    async def listing(s: Services, cursor: str | None, limit: int) -> Page[dict[str, Any]]:
        from tenantgate.registry.paging import Page

        page = await s.registry.list_applications(
            expiring_within_days=within, cursor=cursor, limit=limit
        )
        now = s.clock()
        rows = [row for app in page.items for row in expiring_secrets(app, now, within)]
        return Page(rows, page.next_cursor)

    show_all(listing, json)


def expiring_secrets(app: ApplicationView, now: float, within: int) -> list[dict[str, Any]]:
    """One entry per unretired secret of ``app`` that expires within ``within`` days or has
    expired, which ``expired`` marks."""
    return [
        {
            "application_id": app.application_id,
            "name": app.name,
            "client_id": app.client_id,
            "secret_id": secret.secret_id,
            "hint": secret.hint,
            "expires_at": secret.expires_at,
            "expired": secret.expired(now),
        }
        for secret in app.secrets
        if secret.expires_within(now, within * DAY)
    ]


def days_option(option: str, value: str, *, low: int) -> int:
    """Whole days, ``30d`` or ``30``, from ``low`` to 3650; otherwise one line on stderr and
    exit status 2, as for a setting that cannot be read (``cli/failures.py``)."""
    found = DAYS.fullmatch(value.strip().lower())
    days = int(found.group(1)) if found else -1
    if not low <= days <= MAX_DAYS:
        typer.echo(
            f"error: {option} {value!r}: give whole days from {low} to {MAX_DAYS}, "
            "such as 30d or 30",
            err=True,
        )
        raise typer.Exit(EXIT_USAGE)
    return days


def lifetime(option: str, value: str | None) -> int | None:
    return None if value is None else days_option(option, value, low=1)


@apps.command("suspend")
def app_suspend(application_id: ApplicationId, json: JSON = False) -> None:
    """Suspend an application: it gets no tokens and its tokens stop working."""
    show(run(lambda s: s.registry.set_application_status(application_id, "suspended", ACTOR)), json)


@apps.command("resume")
def app_resume(application_id: ApplicationId, json: JSON = False) -> None:
    """Resume a suspended application."""
    show(run(lambda s: s.registry.set_application_status(application_id, "active", ACTOR)), json)


@apps.command("secret-add")
def secret_add(
    application_id: ApplicationId,
    expires_in_days: Annotated[
        str | None,
        typer.Option(help="Days the secret works (90 or 90d); default: the setting, or never."),
    ] = None,
    json: JSON = False,
) -> None:
    """Add a second secret (rotation); prints it once."""
    days = lifetime("--expires-in-days", expires_in_days)
    show(run(lambda s: s.registry.add_secret(application_id, ACTOR, expires_in_days=days)), json)


@apps.command("secret-retire")
def secret_retire(
    application_id: ApplicationId,
    secret_id: Annotated[str, typer.Argument(help="The secret's id (sec_…, from app get).")],
) -> None:
    """Retire a secret (rotation, step 2): it authenticates no more."""
    run(lambda s: s.registry.retire_secret(application_id, secret_id, ACTOR))
    typer.echo(f"retired {secret_id}")


@tenants.command("create")
def tenant_create(
    name: Annotated[str, typer.Option(help="The tenant's name.")],
    region: Annotated[
        str, typer.Option(help="Its region, a key of TENANTGATE_REGION_URLS.")
    ] = "eu",
    cluster: Annotated[str, typer.Option(help="Its cluster, in the gateway's URLs.")] = (
        "cluster-release"
    ),
    json: JSON = False,
) -> None:
    """Create a tenant; prints its id."""
    show(run(lambda s: s.registry.create_tenant(name, region, cluster, ACTOR)), json)


@tenants.command("get")
def tenant_get(tenant_id: TenantId, json: JSON = False) -> None:
    """One tenant and its apps."""
    show(run(lambda s: s.registry.get_tenant(tenant_id)), json)


@tenants.command("list")
def tenant_list(json: JSON = False) -> None:
    """Every tenant, oldest first."""
    show_all(lambda s, cursor, limit: s.registry.list_tenants(cursor=cursor, limit=limit), json)


@tenants.command("app-set")
def tenant_app_set(
    tenant_id: TenantId,
    app: AppName,
    graphql_url: Annotated[str, typer.Argument(help="Where the gateway forwards GraphQL to.")],
    websocket_url: Annotated[
        str | None, typer.Option(help="Where it forwards subscriptions to (WebSocket).")
    ] = None,
) -> None:
    """Give a tenant an app (or change its upstream URL)."""
    created = run(lambda s: s.registry.put_app(tenant_id, app, graphql_url, websocket_url, ACTOR))
    typer.echo(f"{'added' if created else 'updated'} {app} on {tenant_id}")


@tenants.command("app-remove")
def tenant_app_remove(tenant_id: TenantId, app: AppName) -> None:
    """Take an app away from a tenant."""
    run(lambda s: s.registry.delete_app(tenant_id, app, ACTOR))
    typer.echo(f"removed {app} from {tenant_id}")


@api_users.command("accept")
def api_user_accept(
    tenant_id: TenantId,
    application_id: ApplicationId,
    first_name: Annotated[str, typer.Option(help="The API user's first name.")] = "API",
    last_name: Annotated[str, typer.Option(help="The API user's last name.")] = "User",
    app: Annotated[list[str] | None, typer.Option(help="Limit to these apps.")] = None,
    role: Annotated[
        list[str] | None,
        typer.Option(
            help="Hold this role of the tenant (repeatable). Left out: an existing API user "
            "keeps its roles."
        ),
    ] = None,
    json: JSON = False,
) -> None:
    """The tenant accepts the application: creates (or updates) its API user."""
    from tenantgate.registry.service import KEEP

    view, _ = run(
        lambda s: s.registry.put_api_user(
            tenant_id,
            application_id,
            ACTOR,
            first_name=first_name,
            last_name=last_name,
            enabled=True,
            apps=app or None,
            roles=role or KEEP,
        )
    )
    show(view, json)


@api_users.command("disable")
def api_user_disable(
    tenant_id: TenantId, application_id: ApplicationId, json: JSON = False
) -> None:
    """Disable the API user: the application's tokens for the tenant die at once."""
    show(
        run(lambda s: s.registry.set_api_user_enabled(tenant_id, application_id, False, ACTOR)),
        json,
    )


@api_users.command("enable")
def api_user_enable(tenant_id: TenantId, application_id: ApplicationId, json: JSON = False) -> None:
    """Enable a disabled API user again."""
    show(
        run(lambda s: s.registry.set_api_user_enabled(tenant_id, application_id, True, ACTOR)), json
    )


@api_users.command("delete")
def api_user_delete(tenant_id: TenantId, application_id: ApplicationId) -> None:
    """Delete the API user: the tenant no longer accepts the application."""
    run(lambda s: s.registry.delete_api_user(tenant_id, application_id, ACTOR))
    typer.echo(f"deleted the API user of {application_id} on {tenant_id}")


@api_users.command("get")
def api_user_get(tenant_id: TenantId, application_id: ApplicationId, json: JSON = False) -> None:
    """The API user of an application on a tenant."""
    show(run(lambda s: s.registry.get_api_user(tenant_id, application_id)), json)


@api_users.command("list")
def api_user_list(tenant_id: TenantId, json: JSON = False) -> None:
    """Every API user of the tenant, oldest first."""
    show_all(
        lambda s, cursor, limit: s.registry.list_api_users(
            tenant_id=tenant_id, cursor=cursor, limit=limit
        ),
        json,
    )


def audit(
    tenant: TenantOption = None,
    application: ApplicationOption = None,
    kind: Annotated[str | None, typer.Option(help="Exact kind or prefix*.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many events, newest first.")] = 50,
    json: JSON = False,
) -> None:
    """The audit trail, newest first."""
    show_all(
        lambda s, cursor, page: s.registry.audit(
            tenant_id=tenant, application_id=application, kind=kind, cursor=cursor, limit=page
        ),
        json,
        most=limit,
    )


@keys.command("rotate")
def keys_rotate() -> None:
    """A new key signs from now on; the old one verifies until its tokens expire."""
    kid = run(lambda s: s.keys.rotate(ACTOR))
    typer.echo(f"new signing key {kid}")


@keys.command("list")
def keys_list(json: JSON = False) -> None:
    """The signing keys: which one signs, which ones still verify."""

    async def listing(s):  # type: ignore[no-untyped-def]
        return [
            {
                "kid": k.kid,
                "created_at": k.created_at,
                "retired_at": k.retired_at,
                "signing": s.keys.signing is k,
            }
            for k in s.keys.keys.values()
        ]

    show(run(listing), json)
