"""``create_console(services)``: the web console as one ASGI app, mounted at ``/console``."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantgate.console import auth, developer, operator, owners, roles, tenants, usage
from tenantgate.console.web import Console
from tenantgate.services import Services
from tenantgate.storage.database import DatabaseUnavailable

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def create_console(services: Services) -> Starlette:
    console = Console(services)
    routes = [
        *auth.routes(console),
        *developer.routes(console),
        *owners.routes(console, developer.detail_page),
        *tenants.routes(console),
        *roles.routes(console),
        *operator.routes(console),
        *usage.routes(console),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={DatabaseUnavailable: _unavailable},
    )


UNAVAILABLE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unavailable - tenantgate console</title>
<link rel="stylesheet" href="{root}/static/console.css"></head>
<body><main><section class="narrow card"><h1>The console cannot reach its database</h1>
<p>Nothing was changed. Try again in a moment.</p>
<p><a href="{root}/">Back to the console</a></p></section></main></body></html>
"""


def unavailable(root: str = "/console") -> Response:
    """The page for a request that the database could not serve in time: 503, retry soon."""
    return HTMLResponse(
        UNAVAILABLE_PAGE.format(root=root),
        status_code=503,
        headers={"Retry-After": "1", "Cache-Control": "no-store"},
    )


async def _unavailable(request: Request, _exc: Exception) -> Response:
    return unavailable(request.scope.get("root_path", "/console").rstrip("/"))


class SecurityHeaders:
    """Adds the console's Content-Security-Policy and friends to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
