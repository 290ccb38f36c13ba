"""Builds a reference app as a Starlette ASGI application."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute

from tenantgate.refapps import sdmo, shopfloor
from tenantgate.refapps.auth import JWKSVerifier, TokenVerifier
from tenantgate.refapps.clock import Clock
from tenantgate.refapps.schema import RefAppSchema
from tenantgate.refapps.sdmo.schema import EXAMPLE_QUERY as SDMO_EXAMPLE
from tenantgate.refapps.sdmo.schema import build_schema as sdmo_schema
from tenantgate.refapps.sdmo.store import SdmoStore
from tenantgate.refapps.shopfloor.schema import EXAMPLE_QUERY as SHOPFLOOR_EXAMPLE
from tenantgate.refapps.shopfloor.schema import build_schema as shopfloor_schema
from tenantgate.refapps.shopfloor.store import ShopfloorStore
from tenantgate.refapps.view import TenantGraphQL

GRAPHQL_PATHS = ("/graphql", "/api")


@dataclass(frozen=True)
class RefAppKind:
    description: str
    build_schema: Callable[[], RefAppSchema]
    new_store: Callable[[Clock], object]
    example_query: str
    default_port: int


REFAPPS: dict[str, RefAppKind] = {
    "sdmo": RefAppKind(sdmo.__doc__ or "", sdmo_schema, SdmoStore, SDMO_EXAMPLE, 8101),
    "shopfloor": RefAppKind(
        shopfloor.__doc__ or "", shopfloor_schema, ShopfloorStore, SHOPFLOOR_EXAMPLE, 8102
    ),
}


def create_refapp(
    name: str, verifier: TokenVerifier, *, store: object | None = None, clock: Clock = time.time
) -> Starlette:
    """The ASGI app of the reference app ``name``: GraphQL at /graphql and /api (HTTP, and
    subscriptions over graphql-transport-ws), /healthz."""
    kind = _kind(name)
    view = TenantGraphQL(
        kind.build_schema(),
        app_name=name,
        verifier=verifier,
        store=kind.new_store(clock) if store is None else store,
        example_query=kind.example_query,
    )
    routes: list[BaseRoute] = [Route(path, view) for path in GRAPHQL_PATHS]
    routes += [WebSocketRoute(path, view) for path in GRAPHQL_PATHS]
    routes.append(Route("/healthz", _health(name), methods=["GET"]))
    return Starlette(routes=routes)


def serve(
    name: str,
    host: str,
    port: int,
    jwks_url: str,
    audience: str,
    issuer: str | None = None,
) -> None:
    """Run the reference app with uvicorn, verifying tokens against ``jwks_url``."""
    import uvicorn

    verifier = JWKSVerifier(jwks_url, audience=audience, issuer=issuer)
    uvicorn.run(create_refapp(name, verifier), host=host, port=port)


def _kind(name: str) -> RefAppKind:
    try:
        return REFAPPS[name]
    except KeyError:
        raise ValueError(f"unknown reference app {name!r}; known: {', '.join(REFAPPS)}") from None


def _health(name: str) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "app": name})

    return health
