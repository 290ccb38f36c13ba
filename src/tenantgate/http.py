"""Small HTTP helpers shared by the Token API, the gateway and the other endpoints."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from tenantgate.edge.proxies import ProxyTrust, proxy_trust
from tenantgate.settings import Settings

_HOST = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


_B64TOKEN_CHARS = bytes(range(48, 58)) + bytes(range(65, 91)) + bytes(range(97, 123)) + b"-._~+/"


def parse_bearer(authorization: bytes | None) -> str | None:
    """The token of one ``Authorization: Bearer <b64token>`` value (RFC 6750 §2.1); ``None``
    for any other scheme or a token that is not a b64token. The one bearer rule of every
    surface: the gateway, the admin API, /metrics, async contexts, introspection."""
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(b" ")
    token = token.strip(b" ")
    if scheme.lower() != b"bearer" or not _is_b64token(token):
        return None
    return token.decode("ascii")


def bearer_token(headers: Headers) -> str | None:
    """The bearer of a request that carries exactly one Authorization header; else ``None``."""
    values = headers.getlist("authorization")
    if len(values) != 1:
        return None
    return parse_bearer(values[0].encode("latin-1"))


def _is_b64token(token: bytes) -> bool:
    """RFC 6750 §2.1 ``b64token``; bytes.translate rather than a regex: tokens are long."""
    body = token.rstrip(b"=")
    return bool(body) and not body.translate(None, _B64TOKEN_CHARS)


class BodyTooLarge(Exception):
    """The request body is longer than the endpoint accepts."""


async def read_body(receive: Receive, limit: int, declared: str | None = None) -> bytes | None:
    """The whole request body from a bare ASGI ``receive``; ``None`` if the client went away.
    The one body reader of every surface: a ``declared`` Content-Length over ``limit`` is
    refused before anything is read, and a body that grows over it without reading the rest."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > limit:
            raise BodyTooLarge()
        if not message.get("more_body", False):
            return body


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body``, already read, then what the connection says next:
    for handing a body that was read and checked to an app that reads it again."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def send_json(send: Send, status: int, content: Any, headers: Mapping[str, str]) -> None:
    """A JSON response through a bare ASGI ``send``."""
    body = orjson.dumps(content)
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(body)),
        *[(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def client_address(request: Request, settings: Settings) -> str:
    return scope_client_address(request.scope, settings)


def scope_client_address(scope: Scope, settings: Settings) -> str:
    """The caller's address: the direct peer's, unless trusted proxies stand between
    (:mod:`tenantgate.edge.proxies`). With none configured, no header is read."""
    if settings.trusted_proxies or settings.trust_forwarded_for:
        return _proxy_trust(settings).client(scope)
    client = scope.get("client")
    return client[0] if client else "unknown"


def _proxy_trust(settings: Settings) -> ProxyTrust:
    return proxy_trust(
        tuple(settings.trusted_proxies), settings.trust_forwarded_for, settings.forwarded_headers
    )


def request_base_url(request: Request, settings: Settings) -> str:
    return scope_base_url(request.scope, request.headers, settings)


def scope_base_url(scope: Scope, headers: Mapping[str, str], settings: Settings) -> str:
    """The base URL the request came in on, read from the ASGI scope rather than built as a
    URL object: the scheme and host a trusted proxy forwarded, else the request's own. A host
    that is not a plain host[:port] is ignored in favour of the listening address."""
    scheme, host = scope["scheme"], headers.get("host", "")
    if settings.trusted_proxies or settings.trust_forwarded_for:
        proto, forwarded_host = _proxy_trust(settings).origin(scope)
        if proto and proto.lower() in ("http", "https"):
            scheme = proto.lower()
        host = forwarded_host or host
    if not _HOST.match(host):
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
    return f"{scheme}://{host}"


def public_base_url(request: Request, settings: Settings, region: str | None = None) -> str:
    return scope_public_base_url(request.scope, request.headers, settings, region)


def scope_public_base_url(
    scope: Scope, headers: Mapping[str, str], settings: Settings, region: str | None = None
) -> str:
    """The base URL written into answers: the region's, else the configured public URL, else
    the one the request came in on."""
    if region is not None and region in settings.region_urls:
        return settings.region_urls[region].rstrip("/")
    return settings.public_url or scope_base_url(scope, headers, settings)


def issuer_url(request: Request, settings: Settings) -> str:
    return settings.issuer or public_base_url(request, settings)
