"""RFC 7662 introspection: whether a token is active now, and what it may reach. The caller
is the operator (the admin token as a bearer) or a client named in
``TENANTGATE_INTROSPECTION_CLIENTS``; a token that is not active is ``{"active": false}``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tenantgate.http import NO_STORE, JSONResponse, bearer_token, client_address
from tenantgate.services import Services
from tenantgate.tokens.errors import (
    InvalidClient,
    InvalidRequest,
    InvalidToken,
    NotCurrent,
    OAuthError,
    TemporarilyUnavailable,
    oauth_error_response,
)
from tenantgate.tokens.forms import read_form
from tenantgate.tokens.request import client_credentials
from tenantgate.tokens.verifier import Access


class Introspection:
    def __init__(self, services: Services) -> None:
        self.s = services

    async def introspect(self, request: Request) -> Response:
        try:
            fields = await read_form(request)
            await self._caller(request, fields)
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
        return JSONResponse(_active(access), headers=NO_STORE)

    async def _caller(self, request: Request, fields: dict[str, str]) -> None:
        callers, address = self.s.callers, client_address(request, self.s.settings)
        authorization = request.headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            token = bearer_token(request.headers)
            if token is None:
                raise InvalidRequest("The Authorization header is not one valid bearer token.")
            async with callers.attempt(None, address):
                callers.operator(token)
            return
        credentials = client_credentials(fields, authorization or None)
        assert credentials is not None
        async with callers.attempt(credentials.client_id, address):
            callers.client(credentials)
        if credentials.client_id not in self.s.settings.introspection_clients:
            raise InvalidClient("This client may not introspect tokens.", reason="not allowed")


def _active(access: Access) -> dict[str, Any]:
    c = access.claims
    return {
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
