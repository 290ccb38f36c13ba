"""Small HTTP helpers shared by the Token API, the gateway and the other endpoints."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tenantgate.settings import Settings

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
    headers = request.headers
    scheme, host = request.url.scheme, headers.get("host") or request.url.netloc
    if settings.trust_forwarded_for:
        scheme = headers.get("x-forwarded-proto", scheme).split(",", 1)[0].strip()
        host = headers.get("x-forwarded-host", host).split(",", 1)[0].strip()
    return f"{scheme}://{host}"


def public_base_url(request: Request, settings: Settings, region: str | None = None) -> str:
    if region is not None and region in settings.region_urls:
        return settings.region_urls[region].rstrip("/")
    return settings.public_url or request_base_url(request, settings)


def issuer_url(request: Request, settings: Settings) -> str:
    return settings.issuer or public_base_url(request, settings)
