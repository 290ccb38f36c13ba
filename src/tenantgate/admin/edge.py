"""What an admin API request passes before the API reads it: the admin bearer first, then the
body, read once under the size limit and, when it is JSON, checked by the edge's JSON reader
(nesting, UTF-8, repeated keys). A caller without the token never gets a byte of its body
parsed, however deep, broken or large it is; FastAPI then parses only bodies that passed.

The API's own documentation (``/docs``, its assets, ``/openapi.json``) needs no token."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from tenantgate.edge.body import BadBody, loads
from tenantgate.http import BodyTooLarge, bearer_token, read_body, replay, send_json
from tenantgate.services import Services

PUBLIC = ("/docs", "/openapi.json")
PUBLIC_PREFIXES = ("/docs-assets/",)
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="tenantgate-admin"'}


class AdminEdge:
    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services
        self.limit = services.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_public(scope):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not self._authorized(headers):
            await _error(send, 401, "invalid_token", "A valid admin bearer token is required.")
            return
        try:
            body = await read_body(receive, self.limit, headers.get("content-length"))
        except BodyTooLarge:
            description = f"The request body is larger than {self.limit} bytes."
            await _error(send, 413, "invalid_request", description)
            return
        if body is None:  # the caller went away
            return
        if body and _is_json(headers.get("content-type", "")):
            try:
                loads(body)
            except BadBody as exc:
                await _error(send, 400, "invalid_request", str(exc))
                return
        await self.app(scope, replay(body, receive), send)

    def _authorized(self, headers: Headers) -> bool:
        return self.services.admin_token.matches(bearer_token(headers))


def _is_public(scope: Scope) -> bool:
    path = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path in PUBLIC or path.startswith(PUBLIC_PREFIXES)


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def _error(send: Send, status: int, code: str, description: str) -> None:
    headers = UNAUTHORIZED_HEADERS if status == 401 else {}
    body = {"error": code, "error_description": description}
    await send_json(send, status, body, {"Cache-Control": "no-store", **headers})
