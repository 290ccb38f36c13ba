"""Who owns an application, in the console. An operator assigns it to an existing developer
account, or makes an invite: a link shown once, which the developer opens while signed in to
become the owner. The rules are in ``registry.ownership``; these are the pages."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from tenantgate.console import accounts
from tenantgate.console.accounts import DEVELOPER, OPERATOR
from tenantgate.console.errors import Forbidden, InvalidInput
from tenantgate.console.web import Call, Console, Handler
from tenantgate.http import request_base_url
from tenantgate.registry.views import ApplicationView

APP = "/apps/{application_id:str}"
INVITE = "/invites/{code:str}"


def routes(console: Console, application_page: Handler) -> list[Route]:
    page, action = console.page, console.action
    return [
        Route(APP + "/owner", action(assign, OPERATOR, retry=application_page), methods=["POST"]),
        Route(APP + "/owner/remove", action(remove, OPERATOR), methods=["POST"]),
        Route(APP + "/invites", action(invite, OPERATOR), methods=["POST"]),
        Route(APP + "/invites/withdraw", action(withdraw, OPERATOR), methods=["POST"]),
        Route(INVITE, page(invite_page), methods=["GET"]),
        Route(INVITE, action(redeem), methods=["POST"]),
    ]


async def operator_view(call: Call, application: ApplicationView) -> dict[str, Any]:
    """What an application's page shows an operator about its owner; nothing for others."""
    if not call.account.is_operator:
        return {}
    owner = application.owner_account_id
    emails = await accounts.emails(call.services, [owner] if owner is not None else [])
    ownership = call.services.ownership
    return {
        "owner_email": emails.get(owner) if owner is not None else None,
        "pending_invite": await ownership.pending_invite(application.application_id),
        "assign_email": call.value("email"),
    }


async def assign(call: Call) -> Response:
    application = await _application(call)
    account = await accounts.find_account(call.services, call.value("email"))
    if account is None:
        raise InvalidInput("No account has this e-mail. Send an invite instead.")
    if account.role != DEVELOPER:
        raise InvalidInput("Only a developer account can own an application.")
    if account.disabled:
        raise InvalidInput("That account is disabled; enable it first.")
    await call.services.ownership.assign(application.application_id, account.id, call.account.actor)
    return call.redirect(f"/apps/{application.application_id}", notice="owner-assigned")


async def remove(call: Call) -> Response:
    application = await _application(call)
    await call.services.ownership.assign(application.application_id, None, call.account.actor)
    return call.redirect(f"/apps/{application.application_id}", notice="owner-removed")


async def invite(call: Call) -> Response:
    """The one page that ever shows an invite's link."""
    application = await _application(call)
    new = await call.services.ownership.invite(application.application_id, call.account.actor)
    base = request_base_url(call.request, call.console.settings)
    link = f"{base}{call.root}/invites/{new.code}"
    return call.render("invite.html", application=application, invite=new.invite, link=link)


async def withdraw(call: Call) -> Response:
    application = await _application(call)
    await call.services.ownership.withdraw(application.application_id, call.account.actor)
    return call.redirect(f"/apps/{application.application_id}", notice="invite-withdrawn")


async def invite_page(call: Call) -> Response:
    _developer(call)
    found = await call.services.ownership.invitation(call.param("code"))
    return call.render("invite_accept.html", invite=found, code=call.param("code"))


async def redeem(call: Call) -> Response:
    account = _developer(call)
    used = await call.services.ownership.redeem(call.param("code"), account.id, account.actor)
    return call.redirect(f"/apps/{used.application_id}", notice="invite-accepted")


async def _application(call: Call) -> ApplicationView:
    return await call.services.registry.get_application(call.param("application_id"))


def _developer(call: Call) -> accounts.Account:
    account = call.account
    if account.role != DEVELOPER:
        raise Forbidden(
            "Only a developer account can accept an invite: sign in with the developer "
            "account that is to own the application."
        )
    return account
