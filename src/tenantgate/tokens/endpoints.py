"""The Token API over HTTP, one module per RFC, put together here: issuing (RFC 6749 §4.4,
this module, on the fast path), invalidation and revocation (``revocation``, RFC 7009),
introspection (``introspection``, RFC 7662), metadata and keys (``discovery``, RFC 8414 and
RFC 7517), this API's OpenAPI document (``openapi``); the caller-authentication rule they
share is ``caller``, the ``urls`` block ``urls``. Handlers translate; the rules are
elsewhere."""

from __future__ import annotations

from functools import partial
from typing import Any

import structlog
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tenantgate.http import (
    NO_STORE,
    BodyTooLarge,
    read_body,
    scope_client_address,
    scope_public_base_url,
    send_json,
)
from tenantgate.services import Services
from tenantgate.tokens.discovery import Discovery
from tenantgate.tokens.errors import InvalidRequest, OAuthError
from tenantgate.tokens.introspection import Introspection
from tenantgate.tokens.openapi import openapi_route
from tenantgate.tokens.request import MAX_BODY, parse_token_request
from tenantgate.tokens.revocation import Revocation
from tenantgate.tokens.urls import PublicUrls

log = structlog.get_logger(__name__)


class TokenEndpoints:
    def __init__(self, services: Services) -> None:
        self.s = services
        self.urls = PublicUrls(services.settings)
        self.revocation = Revocation(services)
        self.introspection = Introspection(services)
        self.discovery = Discovery(services)

    def routes(self) -> list[Route]:
        return [
            Route("/v1/token", _TokenResource(self), methods=["POST", "DELETE"]),
            Route("/v1/token/revoke", self.revocation.revoke, methods=["POST"]),
            Route("/v1/token/introspect", self.introspection.introspect, methods=["POST"]),
            Route(
                "/.well-known/oauth-authorization-server",
                self.discovery.metadata,
                methods=["GET"],
            ),
            Route("/.well-known/jwks.json", self.discovery.jwks, methods=["GET"]),
            openapi_route(),
        ]

    async def token(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /v1/token`` as a bare ASGI handler, called by :class:`TokenFastPath` ahead of
        the router: no request or response objects, headers read once from the scope."""
        settings = self.s.settings
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(scope["headers"])}
        try:
            body = await _read_body(receive, headers.get("content-length"))
            if body is None:
                return
            token_request = parse_token_request(
                headers.get("content-type", ""), body, headers.get("authorization")
            )
            base = scope_public_base_url(scope, headers, settings)
            result = await self.s.issuer.issue(
                token_request,
                scope_client_address(scope, settings),
                settings.issuer or base,
                partial(self.urls, base),
            )
        except OAuthError as error:
            self.s.metrics.refused(error.error)
            await send_json(send, error.status_code, error.body, error.response_headers)
            return
        except Exception:
            # Ahead of the framework, so no error middleware catches it: logged once with
            # its detail, answered in the OAuth shape without it.
            log.exception("token_endpoint_failed")
            failed = {"error": "server_error", "error_description": "Something went wrong."}
            await send_json(send, 500, failed, NO_STORE)
            return
        self.s.metrics.tokens_issued.inc()
        await send_json(send, 200, result, NO_STORE)


class _TokenResource:
    """``/v1/token`` as one route, so that any other method gets a 405 that allows both.
    :class:`TokenFastPath` answers ``POST`` before the router; this serves it otherwise."""

    def __init__(self, endpoints: TokenEndpoints) -> None:
        self._endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "POST":
            await self._endpoints.token(scope, receive, send)
            return
        response = await self._endpoints.revocation.invalidate(Request(scope, receive))
        await response(scope, receive, send)


async def _read_body(receive: Receive, declared: str | None) -> bytes | None:
    try:
        return await read_body(receive, MAX_BODY, declared)
    except BodyTooLarge:
        raise InvalidRequest("The request body is too large.") from None


class TokenFastPath:
    """``POST /v1/token`` straight from the server, ahead of the router and the framework's
    middleware: the token endpoint is one of the two hot paths, and the routing and exception
    layers cost about as much as the issuing itself. Everything else goes to ``app``."""

    def __init__(self, app: Any, endpoints: TokenEndpoints) -> None:
        self.app = app
        self._endpoints = endpoints

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/token" and scope["method"] == "POST":
            await self._endpoints.token(scope, receive, send)
            return
        await self.app(scope, receive, send)
