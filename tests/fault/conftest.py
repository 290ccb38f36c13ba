"""Fault-injection fixtures for the tests under tests/fault (defined in harness.py)."""

from tests.fault.harness import make_node, make_proxy, pg_cluster

__all__ = ["make_node", "make_proxy", "pg_cluster"]
