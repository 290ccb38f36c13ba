"""``GET /v1/openapi.json``: the Token API described in OpenAPI 3.1, for client generators and
for Schemathesis. The document is ``openapi.json`` next to this module, kept by hand: the
token endpoint is a bare ASGI handler, so no framework writes it, and ``tests/schema`` holds
the server to what it says."""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PATH = "/v1/openapi.json"


def document() -> bytes:
    return files("tenantgate.tokens").joinpath("openapi.json").read_bytes()


def openapi_route() -> Route:
    body = document()  # read once, when the routes are made

    async def openapi(_request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Route(PATH, openapi, methods=["GET"])
