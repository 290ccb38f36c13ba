"""What a client can learn before it asks for a token: RFC 8414 authorization server
metadata and the JWKS of the keys that sign tokens (RFC 7517)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tenantgate.http import JSONResponse, issuer_url, public_base_url
from tenantgate.services import Services

AUTH_METHODS = ["client_secret_post", "client_secret_basic"]


class Discovery:
    def __init__(self, services: Services) -> None:
        self.s = services

    async def metadata(self, request: Request) -> Response:
        base = public_base_url(request, self.s.settings)
        return JSONResponse(
            {
                "issuer": issuer_url(request, self.s.settings),
                "token_endpoint": base + "/v1/token",
                "revocation_endpoint": base + "/v1/token/revoke",
                "introspection_endpoint": base + "/v1/token/introspect",
                "jwks_uri": base + "/.well-known/jwks.json",
                "grant_types_supported": ["client_credentials"],
                "response_types_supported": [],
                "scopes_supported": [],
                "token_endpoint_auth_methods_supported": AUTH_METHODS,
                "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
                "introspection_endpoint_auth_methods_supported": [*AUTH_METHODS, "bearer"],
            }
        )

    async def jwks(self, _request: Request) -> Response:
        return JSONResponse(self.s.keys.jwks, headers={"Cache-Control": "public, max-age=300"})
