"""GraphQL subscriptions over ``graphql-transport-ws``, behind the same tenant check as HTTP.

The bearer token and the tenant come from the ``connection_init`` payload (``Authorization``
and ``X-Tenant-Id``, in any letter case) or, where the payload has none, from the headers of
the upgrade request. They are checked once, when ``connection_init`` arrives, with the rule of
``access.authenticate``. A refusal closes the socket:

| close code | when |
| --- | --- |
| 4401 | no bearer token, or one that does not verify |
| 4403 | a good token of another tenant, or one that does not grant this app |
| 1013 | the issuer's keys cannot be fetched right now (try again later) |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from tenantgate.refapps.access import TENANT_HEADER, AccessError, authenticate

StoreT = TypeVar("StoreT")

_FROM_PAYLOAD = ("authorization", TENANT_HEADER)
_CLOSE_CODES = {401: 4401, 403: 4403, 503: 1013}
_MAX_REASON = 120


@dataclass
class SocketContext(Generic[StoreT]):
    """What every resolver of a subscription gets; the tenant is filled in at connection_init."""

    store: StoreT
    headers: Mapping[str, str]
    tenant_id: str = ""
    claims: Mapping[str, Any] = field(default_factory=dict)
    connection_params: Mapping[str, object] = field(default_factory=dict)


def socket_headers(headers: Mapping[str, str], payload: Mapping[str, object]) -> dict[str, str]:
    """The credentials of a socket as ``authenticate`` reads them: the payload's, else the
    upgrade request's."""
    found = {name: headers.get(name, "") for name in _FROM_PAYLOAD}
    for key, value in payload.items():
        name = key.lower()
        if name in _FROM_PAYLOAD and isinstance(value, str):
            found[name] = value
    return {name: value for name, value in found.items() if value}


class TenantTransportWSHandler(BaseGraphQLTransportWSHandler[SocketContext[Any], None]):
    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload") or {}
        if self.connection_init_received or not isinstance(payload, dict):
            await super().handle_connection_init(message)
            return
        view: Any = self.view
        context = self.context
        try:
            headers = socket_headers(context.headers, payload)
            principal = await authenticate(headers, view.verifier, view.app_name)
        except AccessError as exc:
            await self._refuse(exc)
            return
        context.tenant_id = principal.tenant_id
        context.claims = principal.claims
        await super().handle_connection_init({"type": "connection_init", "payload": payload})

    async def _refuse(self, exc: AccessError) -> None:
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        code = _CLOSE_CODES.get(exc.status_code, 4400)
        await self.websocket.close(code=code, reason=exc.message[:_MAX_REASON])
