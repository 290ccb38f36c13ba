"""The reference apps served in-process under ``/refapps/<name>`` for the embedded default.

They check bearer tokens with the server's own verifier, which sees invalidations too, instead
of fetching the JWKS over HTTP."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Mount

from tenantgate.services import Services
from tenantgate.tokens.errors import InvalidToken


class LocalVerifier:
    def __init__(self, services: Services) -> None:
        self._services = services

    async def verify(self, token: str) -> dict[str, Any]:
        from tenantgate.refapps import InvalidToken as RefappInvalidToken

        try:
            claims = self._services.verifier.verify(token).claims
        except InvalidToken as exc:
            raise RefappInvalidToken(exc.reason) from None
        return {
            "iss": claims.issuer,
            "sub": claims.client_id,
            "aud": claims.audience,
            "iat": claims.issued_at,
            "exp": claims.expires_at,
            "jti": claims.jti,
            "scope": claims.scope,
            "tenant_id": claims.tenant_id,
            "application_id": claims.application_id,
            "apps": sorted(claims.apps),
            "client_id": claims.client_id,
        }


def refapp_routes(services: Services) -> list[BaseRoute]:
    from tenantgate.refapps import REFAPPS, create_refapp

    verifier = LocalVerifier(services)
    return [Mount(f"/refapps/{name}", app=create_refapp(name, verifier)) for name in REFAPPS]
