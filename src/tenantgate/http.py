"""Small HTTP helpers shared by the Token API, the gateway and the other endpoints."""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tenantgate.settings import Settings

_HOST = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def client_address(request: Request, settings: Settings) -> str:
    if settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",", 1)[0].strip()[:64]
    return request.client.host if request.client else "unknown"


def request_base_url(request: Request, settings: Settings) -> str:
    """The base URL the request came in on. Read from the ASGI scope rather than
    ``request.url``, which builds a URL object: this runs twice per token issued. A Host header
    that is not a plain host[:port] is ignored in favour of the listening address."""
    scope = request.scope
    scheme, host = scope["scheme"], request.headers.get("host", "")
    if settings.trust_forwarded_for:
        headers = request.headers
        scheme = headers.get("x-forwarded-proto", scheme).split(",", 1)[0].strip()
        host = headers.get("x-forwarded-host", host).split(",", 1)[0].strip()
    if not _HOST.match(host):
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
    return f"{scheme}://{host}"


def public_base_url(request: Request, settings: Settings, region: str | None = None) -> str:
    if region is not None and region in settings.region_urls:
        return settings.region_urls[region].rstrip("/")
    return settings.public_url or request_base_url(request, settings)


def issuer_url(request: Request, settings: Settings) -> str:
    return settings.issuer or public_base_url(request, settings)
