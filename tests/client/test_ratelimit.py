"""The SDK reads the RateLimit headers as structured-field lists, and junk as nothing."""

from __future__ import annotations

import pytest

from tenantgate.client._ratelimit import Limit, Policy, RateLimit, rate_limit_of


def test_tokens_strings_and_extra_parameters_are_read():
    found = rate_limit_of(
        {
            "ratelimit-policy": 'default;q=100;w=60;qu="requests", "day";q=1000;w=86400',
            "ratelimit": "default;r=40;t=12",
        }
    )
    assert found == RateLimit(
        {"default": Policy(100, 60), "day": Policy(1000, 86400)}, {"default": Limit(40, 12)}
    )


@pytest.mark.parametrize("value", ["", "===", ";r=1", '"unterminated;r=1', "12;r=1"])
def test_junk_is_no_rate_limit(value):
    assert rate_limit_of({"ratelimit": value}) is None


def test_the_good_items_before_junk_are_kept():
    found = rate_limit_of({"ratelimit": '"a";r=1;t=2, ===, "b";r=3'})
    assert found is not None and found.limits == {"a": Limit(1, 2)}


def test_a_parameter_that_is_not_a_number_is_unknown():
    found = rate_limit_of({"ratelimit": '"a";r=many;t=2'})
    assert found is not None and found.limits == {"a": Limit(None, 2)}
    assert found.remaining is None
