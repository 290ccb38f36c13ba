"""The GraphQL endpoint: authenticate, then hand the request to Strawberry. HTTP requests are
checked one by one; WebSocket subscriptions (graphql-transport-ws) at connection_init."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

try:
    from cross_web import HTTPException
except ImportError:  # strawberry-graphql before it moved its HTTP layer to cross-web
    from strawberry.http.exceptions import HTTPException  # type: ignore[attr-defined,no-redef]

from tenantgate.edge.body import MAX_DEPTH, json_depth
from tenantgate.refapps.access import AccessError, Principal, authenticate
from tenantgate.refapps.auth import TokenVerifier
from tenantgate.refapps.context import RequestContext
from tenantgate.refapps.explorer import explorer_response
from tenantgate.refapps.socket import SocketContext, TenantTransportWSHandler

CONNECTION_INIT_TIMEOUT = timedelta(seconds=10)


class TenantGraphQL(GraphQL[Any, None]):
    """Strawberry's ASGI view behind the tenant check."""

    graphql_transport_ws_handler_class = TenantTransportWSHandler

    def __init__(
        self,
        schema: BaseSchema,
        *,
        app_name: str,
        verifier: TokenVerifier,
        store: object,
        example_query: str,
    ) -> None:
        super().__init__(
            schema,
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=CONNECTION_INIT_TIMEOUT,
        )
        self.app_name = app_name
        self.verifier = verifier
        self.store = store
        self.example_query = example_query

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.run(WebSocket(scope, receive, send))
            return
        response = await self.respond(Request(scope, receive))
        await response(scope, receive, send)

    async def get_context(self, request: Any, response: Any = None) -> Any:
        """A socket's context, whose tenant its handler fills in at connection_init."""
        return SocketContext(store=self.store, headers=request.headers)

    async def respond(self, request: Request) -> Response:
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            return await self.render_graphql_ide(request)
        try:
            principal = await authenticate(request.headers, self.verifier, self.app_name)
        except AccessError as exc:
            return access_error_response(exc)
        if request.method == "POST" and json_depth(await request.body()) > MAX_DEPTH:
            message = f"The JSON body nests deeper than {MAX_DEPTH} levels."
            return graphql_error_response(message, "BAD_REQUEST", 400)
        try:
            return await self.run(request, context=self.context_for(principal))
        except HTTPException as exc:
            return graphql_error_response(exc.reason, "BAD_REQUEST", exc.status_code)

    async def render_graphql_ide(self, request: Request) -> Response:
        return explorer_response(self.app_name, self.example_query)

    def context_for(self, principal: Principal) -> RequestContext[Any]:
        return RequestContext(
            tenant_id=principal.tenant_id, claims=principal.claims, store=self.store
        )


def graphql_error_response(
    message: str, code: str, status_code: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status_code, headers=headers)


def access_error_response(exc: AccessError) -> JSONResponse:
    return graphql_error_response(
        exc.message, exc.code, exc.status_code, headers=_challenge(exc.status_code)
    )


def _challenge(status_code: int) -> dict[str, str] | None:
    if status_code == 401:
        return {"www-authenticate": 'Bearer error="invalid_token"'}
    if status_code == 403:
        return {"www-authenticate": 'Bearer error="insufficient_scope"'}
    return None
