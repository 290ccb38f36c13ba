"""The gateway: ``/v1/fwd/<cluster>/<app>/api`` forwards GraphQL requests of a verified
bearer to the upstream of its tenant's app."""

from tenantgate.gateway.endpoint import Gateway, gateway_routes
from tenantgate.gateway.errors import GatewayError
from tenantgate.gateway.upstream import PooledUpstream, Upstream

__all__ = ["Gateway", "GatewayError", "PooledUpstream", "Upstream", "gateway_routes"]
