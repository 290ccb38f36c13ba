"""Developer pages: my applications, registering one, its secrets, its status, where it is
accepted, and how to ask for a token. An operator sees every application here."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from starlette.responses import Response
from starlette.routing import Route

from tenantgate.console import accounts, owners
from tenantgate.console.accounts import DEVELOPER, OPERATOR
from tenantgate.console.errors import InvalidInput, NotFound
from tenantgate.console.web import PAGE_SIZE, Call, Console
from tenantgate.http import public_base_url
from tenantgate.registry import rules
from tenantgate.registry.views import (
    ApiUserView,
    ApplicationView,
    NewSecret,
    SecretView,
    TenantView,
    epoch,
)

ROLES = (DEVELOPER, OPERATOR)
WARN_DAYS = 30
LIFETIME = re.compile(r"[0-9]{1,4}")


def routes(console: Console) -> list[Route]:
    page, action = console.page, console.action
    base = "/apps/{application_id:str}"
    return [
        Route("/apps", page(list_page, *ROLES), methods=["GET"]),
        Route("/apps", action(register, *ROLES, retry=list_page), methods=["POST"]),
        Route(base, page(detail_page, *ROLES), methods=["GET"]),
        Route(base + "/secrets", action(add_secret, *ROLES, retry=detail_page), methods=["POST"]),
        Route(base + "/secrets/{secret_id:str}/retire", page(retire_page, *ROLES), methods=["GET"]),
        Route(
            base + "/secrets/{secret_id:str}/retire",
            action(retire_secret, *ROLES),
            methods=["POST"],
        ),
        Route(base + "/status", action(set_status, *ROLES, retry=detail_page), methods=["POST"]),
    ]


async def list_page(call: Call) -> Response:
    """A developer's own applications: those whose owner account is theirs."""
    account = call.account
    owner = None if account.is_operator else account.id
    page = await call.services.registry.list_applications(
        owner_account_id=owner, cursor=call.cursor, limit=PAGE_SIZE
    )
    owner_emails = {}
    if account.is_operator:
        owner_emails = await accounts.emails(call.services, _owner_ids(page.items))
    return call.render(
        "apps.html",
        applications=page.items,
        page=page,
        name=call.value("name"),
        owner_emails=owner_emails,
    )


async def register(call: Call) -> Response:
    """A developer owns what they register; an operator's registration has no owner."""
    account = call.account
    view, secret = await call.services.registry.create_application(
        call.value("name"),
        actor=account.actor,
        owner_account_id=None if account.is_operator else account.id,
    )
    return _show_secret(call, view, secret, first=True)


async def detail_page(call: Call) -> Response:
    application = await _mine(call)
    registry = call.services.registry
    api_users = await registry.list_api_users(
        application_id=application.application_id, cursor=call.cursor, limit=PAGE_SIZE
    )
    tenants = await _tenants(call, [u.tenant_id for u in api_users.items])
    now = call.services.clock()
    return call.render(
        "app.html",
        application=application,
        active_secrets=[s for s in application.secrets if s.active(now)],
        expired_ids={s.secret_id for s in application.secrets if s.expired(now)},
        expiry_warnings=_expiry_warnings(application, now),
        default_lifetime=registry.secret_lifetime_days,
        api_users=api_users.items,
        page=api_users,
        tenants=tenants,
        api_user_email=rules.api_user_email(application.application_id, registry.api_user_domain),
        help=_token_help(call, application, api_users.items, tenants),
        **(await owners.operator_view(call, application)),
    )


async def _tenants(call: Call, tenant_ids: list[str]) -> dict[str, TenantView]:
    if not tenant_ids:
        return {}
    page = await call.services.registry.list_tenants(tenant_ids, limit=len(tenant_ids))
    return {t.tenant_id: t for t in page.items}


async def add_secret(call: Call) -> Response:
    """The form's lifetime in days, or, left empty, the default lifetime."""
    application = await _mine(call)
    days = _lifetime(call.value("expires_in_days"))
    secret = await call.services.registry.add_secret(
        application.application_id, call.account.actor, expires_in_days=days
    )
    return _show_secret(call, application, secret, first=False)


def _lifetime(value: str) -> int | None:
    if not value:
        return None
    if not LIFETIME.fullmatch(value):
        raise InvalidInput(f"Expires in: give whole days, 1 to {rules.MAX_SECRET_DAYS}.")
    return rules.secret_days(int(value), "Expires in (days)")


@dataclass(frozen=True)
class ExpiryWarning:
    """A secret that still works for less than ``WARN_DAYS``, or no longer works."""

    hint: str
    expires_at: str | None
    expired: bool
    days_left: int
    """Whole days left, rounded up: 1 means within a day."""


def _expiry_warnings(application: ApplicationView, now: float) -> list[ExpiryWarning]:
    return [
        ExpiryWarning(
            s.hint,
            s.expires_at,
            s.expired(now),
            math.ceil(((epoch(s.expires_at) or now) - now) / rules.DAY),
        )
        for s in application.secrets
        if s.expires_within(now, WARN_DAYS * rules.DAY)
    ]


async def retire_page(call: Call) -> Response:
    application = await _mine(call)
    secret = _secret(application, call.param("secret_id"))
    return call.render(
        "confirm.html",
        title=f"Retire secret {secret.hint}?",
        message="Clients still using this secret will be refused new tokens at once. "
        "Tokens already issued stay valid until they expire.",
        action=f"/apps/{application.application_id}/secrets/{secret.secret_id}/retire",
        button="Retire secret",
        back=f"/apps/{application.application_id}",
    )


async def retire_secret(call: Call) -> Response:
    application = await _mine(call)
    secret = _secret(application, call.param("secret_id"))
    await call.services.registry.retire_secret(
        application.application_id, secret.secret_id, call.account.actor
    )
    return call.redirect(f"/apps/{application.application_id}", notice="secret-retired")


async def set_status(call: Call) -> Response:
    application = await _mine(call)
    status = call.value("status")
    if status not in ("active", "suspended"):
        raise InvalidInput("Choose active or suspended.")
    await call.services.registry.set_application_status(
        application.application_id, status, call.account.actor
    )
    return call.redirect(f"/apps/{application.application_id}", notice=f"status-{status}")


async def _mine(call: Call) -> ApplicationView:
    """The application in the URL, if the caller may manage it; otherwise 404, so that nobody
    learns which application ids exist."""
    application_id = call.param("application_id")
    missing = NotFound("No such application among yours.")
    if not rules.APPLICATION_ID.fullmatch(application_id):
        raise missing
    application = await call.services.registry.get_application(application_id)
    if not call.account.owns(application.owner_account_id):
        raise missing
    return application


def _owner_ids(applications: list[ApplicationView]) -> list[int]:
    return [a.owner_account_id for a in applications if a.owner_account_id is not None]


def _secret(application: ApplicationView, secret_id: str) -> SecretView:
    for secret in application.secrets:
        if secret.secret_id == secret_id and secret.retired_at is None:
            return secret
    raise NotFound("No such active secret for this application.")


def _show_secret(
    call: Call, application: ApplicationView, secret: NewSecret, *, first: bool
) -> Response:
    """The one page that ever shows a client secret."""
    return call.render(
        "secret.html",
        application=application,
        secret=secret,
        first=first,
        api_user_email=rules.api_user_email(
            application.application_id, call.services.registry.api_user_domain
        ),
    )


def _token_help(
    call: Call,
    application: ApplicationView,
    api_users: list[ApiUserView],
    tenants: dict[str, TenantView],
) -> dict[str, str] | None:
    """The exact token request for one tenant that has accepted the application."""
    enabled = [u for u in api_users if u.enabled and u.tenant_id in tenants] or [
        u for u in api_users if u.tenant_id in tenants
    ]
    if not enabled:
        return None
    tenant = tenants[enabled[0].tenant_id]
    base = public_base_url(call.request, call.console.settings, tenant.region)
    curl = (
        f"curl -X POST '{base}/v1/token' \\\n"
        "  -H 'content-type: application/x-www-form-urlencoded' \\\n"
        "  -d grant_type=client_credentials \\\n"
        f"  -d client_id={application.client_id} \\\n"
        '  --data-urlencode "client_secret=$CLIENT_SECRET" \\\n'
        f"  --data-urlencode scope=tenantid:{tenant.tenant_id}"
    )
    return {"tenant_id": tenant.tenant_id, "tenant_name": tenant.name, "curl": curl}
