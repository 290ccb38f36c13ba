"""An app's query limits over the operator's defaults, as the gateway applies them."""

from __future__ import annotations

import pytest

from tenantgate.registry.errors import InvalidInput
from tenantgate.registry.limits import QueryLimits, query_limits


def test_each_limit_an_app_leaves_out_is_the_default():
    defaults = QueryLimits(max_depth=10, max_tokens=5000, introspection=True)

    effective = QueryLimits(max_depth=12, introspection=False).over(defaults)

    assert effective == QueryLimits(max_depth=12, max_tokens=5000, introspection=False)
    assert QueryLimits().over(QueryLimits(introspection=True)).enforced is False
    assert QueryLimits(introspection=False).enforced is True
    assert QueryLimits(max_aliases=0).enforced is True


def test_limits_are_read_strictly_and_none_given_is_none():
    assert query_limits(None) is None
    assert query_limits({}) is None
    assert query_limits({"max_depth": None}) is None
    assert query_limits({"max_depth": 12, "introspection": True}) == QueryLimits(
        max_depth=12, introspection=True
    )
    for bad in ({"max_depth": True}, {"max_depth": 0}, {"depth": 3}, {"introspection": 1}):
        with pytest.raises(InvalidInput):
            query_limits(bad)
