"""The reference GraphQL apps ``sdmo`` and ``shopfloor``: the upstreams the gateway forwards to.

Each app trusts a request only when its bearer token verifies against the issuer's keys and
names the tenant of the gateway's ``X-Tenant-Id`` header and the app itself.
"""

from tenantgate.refapps.app import REFAPPS, create_refapp, serve
from tenantgate.refapps.auth import (
    AuthError,
    InvalidToken,
    JWKSVerifier,
    KeySetUnavailable,
    TokenVerifier,
)

__all__ = [
    "REFAPPS",
    "AuthError",
    "InvalidToken",
    "JWKSVerifier",
    "KeySetUnavailable",
    "TokenVerifier",
    "create_refapp",
    "serve",
]
