"""``create_app(settings)``: the whole server as one ASGI app."""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from tenantgate.admin.api import create_admin_api
from tenantgate.admin.api import unavailable as admin_unavailable
from tenantgate.admin.edge import AdminEdge
from tenantgate.crypto import sha256_hex
from tenantgate.deadline import Deadline
from tenantgate.http import NO_STORE, JSONResponse, bearer_token
from tenantgate.logs import configure_logging
from tenantgate.services import Services
from tenantgate.settings import Settings
from tenantgate.tokens.endpoints import TokenEndpoints, TokenFastPath

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None, services: Services | None = None) -> ASGIApp:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)
    services = services or Services.build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if not services.started:
            await services.open()
        if settings.demo:
            await _start_demo(services)
        if token := services.admin_token.take_new():  # last: printed once the server can serve
            print(f"tenantgate: admin token (shown once, keep it): {token}", flush=True)
        try:
            yield
        finally:
            await _close_endpoints(routes)
            await services.close()

    async def healthz(_request: Request) -> Response:
        """Liveness: the process answers. Whether it should get traffic is /readyz."""
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        """Readiness, for a load balancer: 200 while the change feed confirms, within
        TENANTGATE_MAX_STALENESS, that this node's memory is current; 503 otherwise."""
        feed = services.feed
        if services.started and feed.is_current():
            return JSONResponse({"status": "ready"}, headers=NO_STORE)
        staleness = feed.staleness()
        body = {
            "status": "not_ready",
            "reason": "starting"
            if not services.started
            else f"the change feed has not been read for {staleness:.1f} s "
            f"(TENANTGATE_MAX_STALENESS is {feed.max_staleness:g} s); database at "
            f"{services.db.host}",
            "staleness_seconds": round(staleness, 3) if staleness != float("inf") else None,
        }
        headers = {**NO_STORE, "Retry-After": str(feed.retry_after())}
        return JSONResponse(body, status_code=503, headers=headers)

    metrics_hash = sha256_hex(settings.metrics_token) if settings.metrics_token else None

    async def metrics(request: Request) -> Response:
        """Prometheus text format, behind a bearer token: the metrics token or the admin
        token."""
        token = bearer_token(request.headers)
        is_metrics = (
            metrics_hash is not None
            and token is not None
            and hmac.compare_digest(sha256_hex(token), metrics_hash)
        )
        if not is_metrics and not services.admin_token.matches(token):
            return JSONResponse(
                {
                    "error": "invalid_token",
                    "error_description": "A valid metrics or admin bearer token is required.",
                },
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="tenantgate-metrics"'},
            )
        body = services.metrics.render()
        return Response(body, headers={"Content-Type": services.metrics.content_type})

    deadline = settings.database_timeout + 0.5
    tokens = TokenEndpoints(services)
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *tokens.routes(),
        *_optional_routes(services),
        Mount(
            "/admin/v1",
            app=AdminEdge(
                Deadline(create_admin_api(services), deadline, admin_unavailable), services
            ),
        ),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.services = services
    return TokenFastPath(app, tokens)


def _error(request: Request, status: int, code: str, message: str, headers: Any = None) -> Response:
    """An answer in the shape of the surface the path belongs to: GraphQL errors under the
    gateway, ``{"error", "error_description"}`` for the Token API and the admin API."""
    if request.url.path.startswith("/v1/fwd/"):
        graphql = {"errors": [{"message": message, "extensions": {"code": code.upper()}}]}
        return JSONResponse(graphql, status_code=status, headers=headers)
    body = {"error": code, "error_description": message}
    return JSONResponse(body, status_code=status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    """What the router answers by itself: no such path (404), or not this method (405, with
    ``Allow``), in the surface's own shape rather than as plain text."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"{request.method} is not allowed here; allowed: {allowed or 'none'}."
        return _error(request, 405, "invalid_request", message, exc.headers)
    if exc.status_code == 404:
        return _error(request, 404, "not_found", "Nothing is here.", exc.headers)
    return _error(request, exc.status_code, "invalid_request", str(exc.detail), exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    """An error nobody expected: logged once with its detail, answered without it."""
    log.error("unexpected_error", path=request.url.path, method=request.method, exc_info=exc)
    return _error(request, 500, "server_error", "Something went wrong on our side.")


async def _start_demo(services: Services) -> None:
    from tenantgate.demo import ensure_demo, instructions

    base_url = services.settings.public_url or "http://127.0.0.1:8000"
    credentials = await ensure_demo(services, base_url)
    print(instructions(credentials, base_url), flush=True)


def _optional_routes(services: Services) -> list[BaseRoute]:
    """The gateway, the console and the reference apps, each added where it is present."""
    from tenantgate.asynccontext.endpoints import async_context_routes
    from tenantgate.console import create_console
    from tenantgate.console.app import unavailable as console_unavailable
    from tenantgate.embedded import refapp_routes
    from tenantgate.gateway import gateway_routes
    from tenantgate.gateway.websocket import websocket_routes

    routes: list[Any] = []
    routes += gateway_routes(services)
    routes += websocket_routes(services)
    routes += async_context_routes(services)
    if services.settings.refapps:
        routes += refapp_routes(services)
    console = Deadline(
        create_console(services), services.settings.database_timeout + 0.5, console_unavailable
    )
    routes += [Mount("/console", app=console), Route("/", _to_console)]
    return routes


async def _to_console(_request: Request) -> Response:
    return Response(status_code=307, headers={"Location": "/console/"})


async def _close_endpoints(routes: list[BaseRoute]) -> None:
    """Endpoints holding connections of their own (the gateway's upstream pool) close them."""
    for route in routes:
        aclose = getattr(getattr(route, "endpoint", None), "aclose", None)
        if aclose is not None:
            await aclose()
