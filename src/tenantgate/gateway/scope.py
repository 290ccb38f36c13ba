"""Which upstream a verified token may reach. Plain rules: no web framework, no I/O.

The URL names a cluster and an app, never a tenant: the tenant is the token's. A token
reaches ``<cluster>/<app>`` only if its tenant lives on that cluster and has that app, the
token was issued for that app, and the API user still covers it (RFC 6750 §3.1
``insufficient_scope`` otherwise)."""

from __future__ import annotations

from tenantgate.registry.state import AppRoute
from tenantgate.tokens.errors import InsufficientScope
from tenantgate.tokens.verifier import Access


def upstream_route(access: Access, cluster: str, app: str) -> AppRoute:
    tenant = access.tenant
    if tenant.cluster != cluster:
        raise InsufficientScope("tenant is on another cluster")
    route = tenant.apps.get(app)
    if route is None:
        raise InsufficientScope("tenant has no such app")
    if app not in access.claims.apps:
        raise InsufficientScope("app not in the token's apps")
    allowed = access.api_user.apps
    if allowed is not None and app not in allowed:
        raise InsufficientScope("api user does not cover the app")
    return route
