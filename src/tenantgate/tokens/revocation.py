"""Ending a token before it expires: ``DELETE /v1/token`` with ``x-tokens`` (the contract's
invalidation: whoever holds the token may end it) and RFC 7009 revocation (the client proves
who it is, and ends only its own tokens). Either way the revocation is committed, with its
audit row, before the answer, and the token is refused at once on this node and through the
change feed on the others."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from tenantgate.http import NO_STORE, client_address
from tenantgate.services import Services
from tenantgate.storage.audit import audit_row
from tenantgate.storage.batch import StorageUnavailable
from tenantgate.tokens.errors import (
    InvalidRequest,
    InvalidToken,
    OAuthError,
    TemporarilyUnavailable,
    oauth_error_response,
)
from tenantgate.tokens.forms import read_form
from tenantgate.tokens.request import client_credentials, parse_x_tokens
from tenantgate.tokens.verifier import AccessClaims


class Revocation:
    def __init__(self, services: Services) -> None:
        self.s = services

    async def invalidate(self, request: Request) -> Response:
        """``DELETE /v1/token``: 204 whether the token was alive or not."""
        try:
            token = parse_x_tokens(request.headers.get("x-tokens"))
        except OAuthError as error:
            return oauth_error_response(error)
        try:
            claims = self.s.verifier.to_end(token)
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
            fields = await read_form(request)
            credentials = client_credentials(fields, request.headers.get("authorization"))
            assert credentials is not None
            async with self.s.callers.attempt(
                credentials.client_id, client_address(request, self.s.settings)
            ):
                self.s.callers.client(credentials)
            token = fields.get("token")
            if not token:
                raise InvalidRequest("Missing token.")
        except OAuthError as error:
            return oauth_error_response(error)
        try:
            claims = self.s.verifier.to_end(token)
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
