"""What only the gateway can add to a request: ``X-Tenantgate-Gateway``, a MAC over the tenant,
the app and the token id that the gateway has just checked against the tenant's current rules.

An app that shares the server secret (the reference apps served in-process) demands it, so that
nothing on the public port reaches them around the gateway's checks: a token whose API user was
narrowed, or whose app was taken off the tenant, is refused at the gateway and has no other way
in. The MAC is bound to one tenant, app and token, so the value an app's upstream sees is worth
nothing for another app or tenant. A caller-sent header of that name is dropped."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

HEADER = "x-tenantgate-gateway"


class GatewayProof:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, tenant_id: str, app: str, jti: str) -> str:
        message = f"{tenant_id}\n{app}\n{jti}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def admits(self, headers: Mapping[str, str], app: str, jti: str) -> bool:
        """Whether ``headers`` carry the gateway's proof for their tenant, ``app`` and ``jti``."""
        presented = headers.get(HEADER, "")
        tenant_id = headers.get("x-tenant-id", "")
        if not presented or not tenant_id:
            return False
        return hmac.compare_digest(presented, self.sign(tenant_id, app, jti))
