"""HTTP for async-context payloads. Errors use the OAuth JSON shape; a bad bearer gets the
RFC 6750 challenge."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tenantgate.asynccontext.store import KINDS
from tenantgate.http import BodyTooLarge, JSONResponse, bearer_token, read_body
from tenantgate.registry.errors import RegistryError
from tenantgate.services import Services
from tenantgate.tokens.errors import InvalidToken
from tenantgate.tokens.verifier import Access


def _error(status: int, code: str, description: str, challenge: str | None = None) -> Response:
    headers = {"WWW-Authenticate": challenge} if challenge else None
    body = {"error": code, "error_description": description}
    return JSONResponse(body, status_code=status, headers=headers)


def async_context_routes(services: Services) -> list[Route]:
    limit = services.settings.max_body_bytes
    store = services.payloads
    assert store is not None

    def bearer(request: Request) -> Access:
        token = bearer_token(request.headers)
        if token is None:
            raise InvalidToken("missing bearer")
        return services.verifier.verify(token)

    async def receive(request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in KINDS:
            return _error(404, "not_found", "Use /upload or /error.")
        try:
            access = bearer(request)
            body = await read_body(request.receive, limit, request.headers.get("content-length"))
            if body is None:  # the caller went away
                return _error(400, "invalid_request", "The body ended before its length.")
            claims = access.claims
            view = await store.add(
                claims.tenant_id,
                claims.application_id,
                claims.client_id,
                request.path_params["context_id"],
                kind,
                request.headers.get("content-type", "application/octet-stream"),
                body,
            )
        except InvalidToken:
            return _error(
                401,
                "invalid_token",
                "A valid bearer token is required.",
                'Bearer error="invalid_token"',
            )
        except BodyTooLarge:
            return _error(413, "payload_too_large", f"The body is over {limit} bytes.")
        except RegistryError as error:
            return _error(error.status_code, error.code, error.description)
        return JSONResponse(
            {"id": view.id, "context_id": view.context_id, "kind": kind, "size": view.size},
            status_code=201,
        )

    return [Route("/v1/asyncContext/{context_id}/{kind}", receive, methods=["POST"])]
