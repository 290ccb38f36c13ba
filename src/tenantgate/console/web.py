"""The request plumbing of the console: who is calling, CSRF on every POST, role checks,
rendering and redirects. Route modules describe pages and actions as ``handler(call)``."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tenantgate.console import csrf, filters
from tenantgate.console.accounts import Account
from tenantgate.console.errors import (
    ConsoleError,
    Forbidden,
    FormTooLarge,
    SignInRequired,
    TooManyAttempts,
)
from tenantgate.console.sessions import ANONYMOUS_COOKIE, COOKIE, LIFETIME, Session, Sessions
from tenantgate.crypto import derive, load_server_secret
from tenantgate.http import BodyTooLarge, client_address, read_body, replay, request_base_url
from tenantgate.services import Services
from tenantgate.tokens.ratelimit import KeyedLimiter

Handler = Callable[["Call"], Awaitable[Response]]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
RETRYABLE = (400, 409)
PAGE_SIZE = 50
MAX_FORM_BYTES = 65_536  # the largest console form (a tenant with its apps) is a few KB

NOTICES = {
    "signed-out": "You are signed out.",
    "secret-retired": "The secret is retired; it no longer gets tokens.",
    "status-active": "The application is active again.",
    "status-suspended": "The application is suspended: it gets no tokens until resumed.",
    "tenant-created": "Tenant created.",
    "tenant-updated": "Tenant updated.",
    "app-saved": "App saved.",
    "app-deleted": "App removed from this tenant.",
    "api-user-created": "API user created: the application can get tokens for this tenant.",
    "api-user-updated": "API user updated.",
    "api-user-enabled": "API user enabled. Tokens issued before it was disabled stay refused.",
    "api-user-disabled": "API user disabled. Its tokens are refused from now on.",
    "api-user-deleted": "API user deleted. Its tokens are refused from now on.",
    "role-created": "Role created. API users that hold it may do what it allows.",
    "role-saved": "Role saved. The gateway applies it from the next request on.",
    "role-deleted": "Role deleted.",
    "account-created": "Account created.",
    "account-disabled": "Account disabled and signed out everywhere.",
    "account-enabled": "Account enabled.",
    "owner-assigned": "Owner assigned. Any pending invite for this application is withdrawn.",
    "owner-removed": "The application has no owner now; only operators manage it.",
    "invite-withdrawn": "Invite withdrawn: its link no longer works.",
    "invite-accepted": "You own this application now.",
}


class Console:
    """What every console request needs: services, the session store, the sign-in limiter and
    the templates."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.services = services
        self.settings = settings
        self.key = derive(
            load_server_secret(settings.secret_key, settings.data_dir), "console sessions"
        )
        self.sessions = Sessions(services, self.key)
        self.limiter = KeyedLimiter(settings.failure_limit, settings.failure_window, services.clock)
        self.templates = Environment(
            loader=PackageLoader("tenantgate.console", "templates"),
            autoescape=select_autoescape(["html", "svg"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        filters.install(self.templates)

    def page(self, handler: Handler, *roles: str, anonymous: bool = False) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            call = await self._call(request)
            return await self._run(call, handler, roles, anonymous, None)

        return endpoint

    def action(
        self,
        handler: Handler,
        *roles: str,
        anonymous: bool = False,
        retry: Handler | None = None,
    ) -> Callable[..., Any]:
        """A POST endpoint: the form's CSRF token is checked before anything else happens."""

        async def endpoint(request: Request) -> Response:
            call = await self._call(request)
            try:
                call.form = await _read_form(request)
            except FormTooLarge as error:
                return call.failure(error)
            try:
                csrf.verify(
                    call.csrf_token if call.session or call.has_nonce else None,
                    call.form.get(csrf.FIELD),
                )
            except ConsoleError as error:
                return call.failure(error)
            return await self._run(call, handler, roles, anonymous, retry)

        return endpoint

    async def _call(self, request: Request) -> Call:
        session = await self.sessions.load(request.cookies.get(COOKIE))
        nonce = request.cookies.get(ANONYMOUS_COOKIE) or ""
        if 0 < len(nonce) <= 64:
            return Call(request, self, session, nonce, has_nonce=True)
        return Call(request, self, session, secrets.token_urlsafe(24), has_nonce=False)

    async def _run(
        self,
        call: Call,
        handler: Handler,
        roles: tuple[str, ...],
        anonymous: bool,
        retry: Handler | None,
    ) -> Response:
        try:
            if not anonymous:
                call.require(*roles)
            return await handler(call)
        except SignInRequired:
            return call.redirect("/sign-in", next=call.request.url.path)
        except ConsoleError as error:
            if retry is not None and error.status_code in RETRYABLE:
                call.error, call.status = error.description, error.status_code
                return await retry(call)
            return call.failure(error)


async def _read_form(request: Request) -> FormData:
    """The form, read by the one body reader under ``MAX_FORM_BYTES`` (a declared length over
    it is refused before reading), then parsed by Starlette from the bytes read."""
    try:
        body = await read_body(
            request.receive, MAX_FORM_BYTES, request.headers.get("content-length")
        )
    except BodyTooLarge:
        raise FormTooLarge(MAX_FORM_BYTES) from None
    return await Request(request.scope, replay(body or b"", request.receive)).form()


@dataclass
class Call:
    """One console request: the visitor, their form, and how to answer them."""

    request: Request
    console: Console
    session: Session | None
    nonce: str
    has_nonce: bool
    form: FormData | None = None
    error: str | None = None
    status: int = 200

    @property
    def account(self) -> Account:
        if self.session is None:
            raise SignInRequired()
        return self.session.account

    @property
    def services(self) -> Services:
        return self.console.services

    @property
    def csrf_token(self) -> str:
        if self.session is not None:
            return self.session.csrf_token
        return csrf.anonymous_token(self.console.key, self.nonce)

    @property
    def root(self) -> str:
        return str(self.request.scope.get("root_path", "")).rstrip("/")

    @property
    def address(self) -> str:
        return client_address(self.request, self.console.settings)

    def require(self, *roles: str) -> Account:
        account = self.account
        if roles and account.role not in roles:
            raise Forbidden("Your account may not open this page.")
        return account

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])

    @property
    def cursor(self) -> str | None:
        """Which page of this page's list to show: the ``cursor`` of a Next link."""
        return self.request.query_params.get("cursor") or None

    def page_url(self, cursor: str | None) -> str:
        """This page, filters kept, at another page of its list (``None``: the first)."""
        query = [
            (k, v)
            for k, v in self.request.query_params.multi_items()
            if k not in ("cursor", "notice")
        ]
        if cursor is not None:
            query.append(("cursor", cursor))
        return self.request.url.path + ("?" + urlencode(query) if query else "")

    def value(self, name: str, default: str = "") -> str:
        source = self.form if self.form is not None else self.request.query_params
        found = source.get(name)
        if found is None and self.form is not None:
            found = self.request.query_params.get(name)
        return found.strip() if isinstance(found, str) else default

    def values(self, name: str) -> list[str]:
        if self.form is None:
            return self.request.query_params.getlist(name)
        return [v.strip() for v in self.form.getlist(name) if isinstance(v, str)]

    def render(self, template: str, status: int | None = None, **context: Any) -> Response:
        notice = NOTICES.get(self.request.query_params.get("notice", ""))
        html = self.console.templates.get_template(template).render(
            call=self,
            root=self.root,
            account=self.session.account if self.session else None,
            csrf_token=self.csrf_token,
            notice=notice,
            error=self.error,
            settings=self.console.settings,
            path=self.request.url.path,
            **context,
        )
        response = HTMLResponse(html, status_code=status or self.status, headers=NO_STORE)
        if self.session is None and not self.has_nonce:
            self.set_cookie(response, ANONYMOUS_COOKIE, self.nonce, LIFETIME)
        return response

    def redirect(self, path: str, notice: str | None = None, **query: str) -> Response:
        if notice:
            query["notice"] = notice
        url = self.root + path + ("?" + urlencode(query) if query else "")
        return RedirectResponse(url, status_code=303, headers=NO_STORE)

    def failure(self, error: ConsoleError) -> Response:
        self.error = error.description
        response = self.render(
            "error.html", status=error.status_code, status_code=error.status_code
        )
        if isinstance(error, TooManyAttempts):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    def set_cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        settings = self.console.settings
        secure = settings.console_secure_cookies
        if secure is None:
            secure = request_base_url(self.request, settings).startswith("https:")
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=self.root or "/",
            secure=secure,
            httponly=True,
            samesite="lax",
        )

    def delete_cookie(self, response: Response, name: str) -> None:
        self.set_cookie(response, name, "", 0)
