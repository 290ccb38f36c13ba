"""``TenantAuth``: tenantgate tokens for any httpx client (RFC 6750 bearer usage)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, cast

import httpx

from ._tokens import Token

if TYPE_CHECKING:
    from ._async_client import AsyncClient
    from ._client import Client


class TenantAuth(httpx.Auth):
    """Adds ``Authorization: Bearer <token>`` from a client's token cache.

    On a ``401`` it renews the token once and sends the request again. Built from a
    ``Client`` it serves ``httpx.Client``; from an ``AsyncClient``, ``httpx.AsyncClient``::

        tg = Client.from_env()
        with httpx.Client(auth=tg.auth) as http:
            http.post(tg.app_url("sdmo"), json={"query": "{ __typename }"})
    """

    requires_request_body = True

    def __init__(self, client: Client | AsyncClient) -> None:
        self._client = client

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        if self._client.is_async:
            raise TypeError("this TenantAuth comes from an AsyncClient: use httpx.AsyncClient")
        client = cast("Client", self._client)
        token = client._token()
        response = yield _with_bearer(request, token)
        if response.status_code == 401:
            response.read()
            yield _with_bearer(request, client._token(stale=token))

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self._client.is_async:
            raise TypeError("this TenantAuth comes from a Client: use httpx.Client")
        client = cast("AsyncClient", self._client)
        token = await client._token()
        response = yield _with_bearer(request, token)
        if response.status_code == 401:
            await response.aread()
            yield _with_bearer(request, await client._token(stale=token))


def _with_bearer(request: httpx.Request, token: Token) -> httpx.Request:
    request.headers["Authorization"] = f"Bearer {token.access_token}"
    return request
