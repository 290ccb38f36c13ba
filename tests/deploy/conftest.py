"""Deployment tests: real nodes (``tenantgate serve``) behind Debian's nginx on loopback."""

from tests.fault.harness import make_node, make_proxy

__all__ = ["make_node", "make_proxy"]
