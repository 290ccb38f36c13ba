"""Signing in, signing up and signing out."""

from __future__ import annotations

import re

from starlette.responses import Response
from starlette.routing import Route

from tenantgate.console import accounts
from tenantgate.console.accounts import DEVELOPER, OPERATOR, TENANT_ADMIN
from tenantgate.console.errors import InvalidInput, NotFound, TooManyAttempts
from tenantgate.console.sessions import COOKIE, LIFETIME
from tenantgate.console.web import Call, Console

HOME = {OPERATOR: "/overview", DEVELOPER: "/apps", TENANT_ADMIN: "/tenants"}
SAFE_PATH = re.compile(r"^/[A-Za-z0-9/_.-]*$")


def routes(console: Console) -> list[Route]:
    return [
        Route("/", console.page(home), methods=["GET"]),
        Route("/sign-in", console.page(sign_in_page, anonymous=True), methods=["GET"]),
        Route(
            "/sign-in",
            console.action(sign_in, anonymous=True, retry=sign_in_page),
            methods=["POST"],
        ),
        Route("/sign-up", console.page(sign_up_page, anonymous=True), methods=["GET"]),
        Route(
            "/sign-up",
            console.action(sign_up, anonymous=True, retry=sign_up_page),
            methods=["POST"],
        ),
        Route("/sign-out", console.action(sign_out), methods=["POST"]),
    ]


async def home(call: Call) -> Response:
    return call.redirect(HOME[call.account.role])


async def sign_in_page(call: Call) -> Response:
    if call.session is not None and call.form is None:
        return call.redirect(HOME[call.session.account.role])
    return call.render("sign_in.html", email=call.value("email"), next=_next(call))


async def sign_in(call: Call) -> Response:
    email = call.value("email").lower()[:320]
    keys = (f"console-email:{email}", f"console-address:{call.address}")
    wait = call.console.limiter.retry_after(*keys)
    if wait is not None:
        raise TooManyAttempts(wait)
    account = await accounts.authenticate(call.services, email, call.value("password"))
    if account is None:
        call.console.limiter.fail(*keys)
        raise InvalidInput("That e-mail and password do not match an active account.")
    return await _start(call, account, _next(call) or HOME[account.role])


async def sign_up_page(call: Call) -> Response:
    if not call.console.settings.console_signup:
        raise NotFound("Sign-up is closed; ask an operator for an account.")
    return call.render("sign_up.html", email=call.value("email"), next=_next(call))


async def sign_up(call: Call) -> Response:
    if not call.console.settings.console_signup:
        raise NotFound("Sign-up is closed; ask an operator for an account.")
    key = f"console-sign-up:{call.address}"
    wait = call.console.limiter.retry_after(key)
    if wait is not None:
        raise TooManyAttempts(wait)
    call.console.limiter.fail(key)
    password = call.value("password")
    if password != call.value("password_confirm"):
        raise InvalidInput("The two passwords differ.")
    account = await accounts.create_account(
        call.services, call.value("email"), password, DEVELOPER, (), actor="console:sign-up"
    )
    return await _start(call, account, _next(call) or HOME[DEVELOPER])


async def sign_out(call: Call) -> Response:
    assert call.session is not None
    await call.console.sessions.end(call.session)
    response = call.redirect("/sign-in", notice="signed-out")
    call.delete_cookie(response, COOKIE)
    return response


async def _start(call: Call, account: accounts.Account, path: str) -> Response:
    cookie, _session = await call.console.sessions.start(account)
    response = call.redirect(path)
    call.set_cookie(response, COOKIE, cookie, LIFETIME)
    return response


def _next(call: Call) -> str | None:
    """Where to go after signing in: only a path inside the console."""
    value, root = call.value("next"), call.root
    if not value.startswith(root + "/") or "//" in value:
        return None
    path = value[len(root) :]
    return path if SAFE_PATH.match(path) and not path.startswith("/sign-") else None
