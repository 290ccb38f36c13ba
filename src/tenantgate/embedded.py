"""The reference apps served in-process under ``/refapps/<name>`` for the embedded default.

They check bearer tokens with the server's own verifier, which sees invalidations too, instead
of fetching the JWKS over HTTP. Being on the public port, they also demand the gateway's proof
(``X-Tenantgate-Gateway``, see ``tenantgate.proof``): a request that did not come through the
gateway's checks is refused, 403 over HTTP, 4403 on a WebSocket."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from tenantgate.proof import GatewayProof
from tenantgate.services import Services
from tenantgate.tokens.errors import InvalidToken
from tenantgate.tokens.verifier import TokenVerifier

REFUSED = orjson.dumps(
    {
        "errors": [
            {
                "message": "This app is reached through the gateway only.",
                "extensions": {"code": "FORBIDDEN"},
            }
        ]
    }
)


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


class GatewayOnly:
    """Lets a request through to the app ``name`` only with the gateway's proof for its tenant,
    that app and its bearer token (``/healthz`` excepted)."""

    def __init__(
        self, app: ASGIApp, name: str, proof: GatewayProof, verifier: TokenVerifier
    ) -> None:
        self._app = app
        self._name = name
        self._proof = proof
        self._verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self._admitted(scope):
            if scope["type"] == "http":
                await send(
                    {
                        "type": "http.response.start",
                        "status": 403,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(REFUSED)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": REFUSED})
            else:
                await send({"type": "websocket.close", "code": 4403, "reason": "Forbidden"})
            return
        await self._app(scope, receive, send)

    def _admitted(self, scope: Scope) -> bool:
        if scope["type"] == "http" and scope["path"].endswith("/healthz"):
            return True
        headers = Headers(scope=scope)
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        try:
            jti = self._verifier.decode(token.strip()).jti
        except InvalidToken:
            return False
        return self._proof.admits(headers, self._name, jti)


def refapp_routes(services: Services) -> list[BaseRoute]:
    from tenantgate.refapps import REFAPPS, create_refapp

    verifier = LocalVerifier(services)
    return [
        Mount(
            f"/refapps/{name}",
            app=GatewayOnly(
                create_refapp(name, verifier), name, services.gateway_proof, services.verifier
            ),
        )
        for name in REFAPPS
    ]
