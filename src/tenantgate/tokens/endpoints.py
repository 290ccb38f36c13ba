"""The Token API over HTTP: POST and DELETE /v1/token, RFC 7009 revocation, RFC 7662
introspection, RFC 8414 metadata and the JWKS. Handlers translate; the rules are elsewhere."""

from __future__ import annotations

import hmac
from functools import partial
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tenantgate.http import (
    NO_STORE,
    BodyTooLarge,
    JSONResponse,
    bearer_token,
    client_address,
    issuer_url,
    public_base_url,
    read_body,
    scope_client_address,
    scope_public_base_url,
    send_json,
)
from tenantgate.registry.state import TenantRecord
from tenantgate.services import Services
from tenantgate.storage.audit import audit_row
from tenantgate.storage.batch import StorageUnavailable
from tenantgate.tokens.errors import (
    InvalidClient,
    InvalidRequest,
    InvalidToken,
    NotCurrent,
    OAuthError,
    SlowDown,
    TemporarilyUnavailable,
)
from tenantgate.tokens.issuer import authenticate
from tenantgate.tokens.request import (
    MAX_BODY,
    ClientCredentials,
    client_credentials,
    parse_form,
    parse_token_request,
    parse_x_tokens,
)
from tenantgate.tokens.verifier import AccessClaims

URLS_CACHE_SIZE = 1024

log = structlog.get_logger(__name__)


def oauth_error_response(error: OAuthError) -> JSONResponse:
    return JSONResponse(error.body, status_code=error.status_code, headers=error.response_headers)


class TokenEndpoints:
    def __init__(self, services: Services) -> None:
        self.s = services
        self._urls_cache: dict[tuple[str, ...], dict[str, Any]] = {}

    def routes(self) -> list[Route]:
        return [
            Route("/v1/token", _TokenResource(self), methods=["POST", "DELETE"]),
            Route("/v1/token/revoke", self.revoke, methods=["POST"]),
            Route("/v1/token/introspect", self.introspect, methods=["POST"]),
            Route("/.well-known/oauth-authorization-server", self.metadata, methods=["GET"]),
            Route("/.well-known/jwks.json", self.jwks, methods=["GET"]),
        ]

    async def token(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /v1/token`` as a bare ASGI handler, called by :class:`TokenFastPath` ahead of
        the router: no request or response objects, headers read once from the scope."""
        settings = self.s.settings
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(scope["headers"])}
        try:
            body = await _read_body(receive)
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
                partial(self._urls, base),
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

    def _urls(self, base: str, tenant: TenantRecord, apps: list[str]) -> dict[str, Any]:
        """The ``urls`` block, built once per base URL, tenant location and app list and then
        shared (it is only ever serialised)."""
        key = (base, tenant.region, tenant.cluster, *apps)
        urls = self._urls_cache.get(key)
        if urls is None:
            if len(self._urls_cache) >= URLS_CACHE_SIZE:
                self._urls_cache.clear()
            urls = self._urls_cache[key] = self._build_urls(base, tenant, apps)
        return urls

    def _build_urls(self, base: str, tenant: TenantRecord, apps: list[str]) -> dict[str, Any]:
        """``base`` is the deployment's base URL; a tenant's region may override it."""
        settings = self.s.settings
        base = settings.region_urls.get(tenant.region, base).rstrip("/")
        websocket = settings.websocket_url or base.replace("http", "ws", 1) + "/v1/ws"
        return {
            "asyncContextUpload": base + "/v1/asyncContext/{AsyncContextId}/upload",
            "asyncContextError": base + "/v1/asyncContext/{AsyncContextId}/error",
            "websocket": websocket,
            "invalidateToken": base + "/v1/token",
            "apps": {
                name: {"graphQL": f"{base}/v1/fwd/{tenant.cluster}/{name}/api"} for name in apps
            },
        }

    async def invalidate(self, request: Request) -> Response:
        try:
            token = parse_x_tokens(request.headers.get("x-tokens"))
        except OAuthError as error:
            return oauth_error_response(error)
        try:
            claims = self.s.verifier.decode(token)
        except InvalidToken:
            return Response(status_code=204)
        try:
            await self._revoke(claims, token, f"client:{claims.client_id}", "token.invalidated")
        except OAuthError as error:
            return oauth_error_response(error)
        return Response(status_code=204)

    async def revoke(self, request: Request) -> Response:
        """RFC 7009: the client proves who it is; a token of another client, or no live
        token at all, is answered 200 and left alone."""
        try:
            fields = await _form(request)
            credentials = client_credentials(fields, request.headers.get("authorization"))
            assert credentials is not None
            await self._authenticate(request, credentials.client_id, credentials)
            token = fields.get("token")
            if not token:
                raise InvalidRequest("Missing token.")
        except OAuthError as error:
            return oauth_error_response(error)
        try:
            claims = self.s.verifier.decode(token)
        except InvalidToken:
            return Response(status_code=200, headers=NO_STORE)
        if hmac.compare_digest(claims.client_id, credentials.client_id):
            try:
                await self._revoke(claims, token, f"client:{claims.client_id}", "token.revoked")
            except OAuthError as error:
                return oauth_error_response(error)
        return Response(status_code=200, headers=NO_STORE)

    async def _revoke(self, claims: AccessClaims, token: str, actor: str, kind: str) -> None:
        if claims.jti in self.s.state.revoked:
            return
        now = self.s.clock()
        row = audit_row(
            kind,
            actor,
            now,
            tenant_id=claims.tenant_id,
            application_id=claims.application_id,
            jti=claims.jti,
            exp=claims.expires_at,
        )
        try:
            await self.s.batch.write(row, revocation=(claims.jti, claims.expires_at))
        except StorageUnavailable:
            raise TemporarilyUnavailable() from None
        self.s.state.revoke(claims.jti, claims.expires_at)
        self.s.verifier.forget(token)
        self.s.metrics.tokens_invalidated.inc()

    async def introspect(self, request: Request) -> Response:
        try:
            fields = await _form(request)
            await self._introspection_caller(request, fields)
            token = fields.get("token")
            if not token:
                raise InvalidRequest("Missing token.")
        except OAuthError as error:
            return oauth_error_response(error)
        try:
            access = self.s.verifier.verify(token)
        except InvalidToken:
            return JSONResponse({"active": False}, headers=NO_STORE)
        except NotCurrent:
            self.s.metrics.stale_refusals("introspect")
            return oauth_error_response(
                TemporarilyUnavailable("not current", self.s.feed.retry_after())
            )
        c = access.claims
        body = {
            "active": True,
            "token_type": "Bearer",
            "client_id": c.client_id,
            "sub": c.client_id,
            "scope": c.scope,
            "iat": c.issued_at,
            "exp": c.expires_at,
            "iss": c.issuer,
            "aud": c.audience,
            "jti": c.jti,
            "tenant_id": c.tenant_id,
            "application_id": c.application_id,
            "apps": sorted(c.apps & set(access.api_user.allowed_apps(access.tenant))),
        }
        return JSONResponse(body, headers=NO_STORE)

    async def _introspection_caller(self, request: Request, fields: dict[str, str]) -> None:
        authorization = request.headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            token = bearer_token(request.headers)
            if token is None:
                raise InvalidRequest("The Authorization header is not one valid bearer token.")
            await self._authenticate(request, None, None, token)
            return
        credentials = client_credentials(fields, authorization or None)
        assert credentials is not None
        await self._authenticate(request, credentials.client_id, credentials)
        if credentials.client_id not in self.s.settings.introspection_clients:
            raise InvalidClient("This client may not introspect tokens.", reason="not allowed")

    async def _authenticate(
        self,
        request: Request,
        who: str | None,
        credentials: ClientCredentials | None,
        admin_token: str | None = None,
    ) -> None:
        """Client (or operator, ``who=None``) authentication for revocation and introspection,
        under the same failure limits as the token endpoint: guesses cost the same everywhere.
        A wrong operator token counts for its address only, never in a client id's window, so
        nobody can lock the operator out from elsewhere."""
        address = client_address(request, self.s.settings)
        wait = await self.s.limiter.retry_after(who, address)
        if wait is not None:
            raise SlowDown(wait)
        try:
            if credentials is not None:
                authenticate(self.s.state, self.s.hasher, credentials, self.s.clock)
                return
            if not self.s.admin_token.matches(admin_token):
                raise InvalidClient("The introspection credential is not valid.")
        except InvalidClient:
            await self.s.limiter.fail(who, address)
            raise

    async def metadata(self, request: Request) -> Response:
        issuer = issuer_url(request, self.s.settings)
        base = public_base_url(request, self.s.settings)
        methods = ["client_secret_post", "client_secret_basic"]
        return JSONResponse(
            {
                "issuer": issuer,
                "token_endpoint": base + "/v1/token",
                "revocation_endpoint": base + "/v1/token/revoke",
                "introspection_endpoint": base + "/v1/token/introspect",
                "jwks_uri": base + "/.well-known/jwks.json",
                "grant_types_supported": ["client_credentials"],
                "response_types_supported": [],
                "scopes_supported": [],
                "token_endpoint_auth_methods_supported": methods,
                "revocation_endpoint_auth_methods_supported": methods,
                "introspection_endpoint_auth_methods_supported": [*methods, "bearer"],
            }
        )

    async def jwks(self, _request: Request) -> Response:
        return JSONResponse(self.s.keys.jwks, headers={"Cache-Control": "public, max-age=300"})


class _TokenResource:
    """``/v1/token`` as one route, so that any other method gets a 405 that allows both.
    :class:`TokenFastPath` answers ``POST`` before the router; this serves it otherwise."""

    def __init__(self, endpoints: TokenEndpoints) -> None:
        self._endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "POST":
            await self._endpoints.token(scope, receive, send)
            return
        response = await self._endpoints.invalidate(Request(scope, receive))
        await response(scope, receive, send)


async def _form(request: Request) -> dict[str, str]:
    """The form of a revocation or introspection request (RFC 7009 §2.1, RFC 7662 §2.1: the
    body is ``application/x-www-form-urlencoded``, and nothing else is read as one)."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise InvalidRequest("content-type must be application/x-www-form-urlencoded.")
    try:
        body = await read_body(request.receive, MAX_BODY, request.headers.get("content-length"))
    except BodyTooLarge:
        raise InvalidRequest("The request body is too large.") from None
    return parse_form(body or b"")


async def _read_body(receive: Receive) -> bytes | None:
    try:
        return await read_body(receive, MAX_BODY)
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
