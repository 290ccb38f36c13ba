"""The Python SDK for applications that call a tenantgate server.

A client gets an access token with the application's client credentials for one tenant,
keeps it in a cache shared by the process, renews it before it expires, follows the URLs the
Token API hands out, and invalidates the token when it is closed::

    from tenantgate.client import Client, GraphQLError

    with Client.from_env() as tg:  # TENANTGATE_TOKEN_URL, _CLIENT_ID, _CLIENT_SECRET, _TENANT_ID
        data = tg.graphql("sdmo", "query($n: Int) { orders(first: $n) { id } }", {"n": 5})

The same with asyncio::

    async with AsyncClient(
        token_url="https://api.example.com/v1/token",
        client_id="...",
        client_secret="...",
        tenant_id="Dz62IqY7R8o7W6oj_mreA",
    ) as tg:
        data = await tg.graphql("sdmo", "{ __typename }")

Any httpx client (gql's HTTPX transports too) can use the token through ``TenantAuth``::

    tg = Client.from_env()
    with httpx.Client(auth=tg.auth) as http:
        http.post(tg.app_url("sdmo"), json={"query": "{ __typename }"})

Errors derive from ``TenantgateError``; see ``tenantgate.client._errors`` for the tree.
"""

from ._async_client import AsyncClient
from ._auth import TenantAuth
from ._cache import TokenCache, default_cache
from ._client import Client
from ._config import Credentials, RetryPolicy
from ._errors import (
    AccessDenied,
    AppNotAvailable,
    Forbidden,
    GatewayError,
    GraphQLError,
    InsufficientScope,
    InvalidClient,
    InvalidRequest,
    InvalidScope,
    InvalidToken,
    MissingSetting,
    RateLimited,
    RateLimitExceeded,
    TenantgateError,
    TokenError,
    TransportError,
    UnsupportedGrantType,
)
from ._ratelimit import Limit, Policy, RateLimit
from ._tokens import Token

__all__ = [
    "AccessDenied",
    "AppNotAvailable",
    "AsyncClient",
    "Client",
    "Credentials",
    "Forbidden",
    "GatewayError",
    "GraphQLError",
    "InsufficientScope",
    "InvalidClient",
    "InvalidRequest",
    "InvalidScope",
    "InvalidToken",
    "Limit",
    "MissingSetting",
    "Policy",
    "RateLimit",
    "RateLimitExceeded",
    "RateLimited",
    "RetryPolicy",
    "TenantAuth",
    "TenantgateError",
    "Token",
    "TokenCache",
    "TokenError",
    "TransportError",
    "UnsupportedGrantType",
    "default_cache",
]
