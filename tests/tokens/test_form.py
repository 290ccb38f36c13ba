"""The token endpoint's form parser reads what the standard library's strict parser reads, and
refuses what it refuses (and repeated fields besides)."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from tenantgate.tokens.errors import InvalidRequest
from tenantgate.tokens.request import parse_form

CASES = [
    "a=1&b=2",
    "a=%41+b&c=",
    "=x",
    "a=b=c",
    "a+b=c%2B",
    "a=%ZZ",
    "a=%C3%A9",
    "a=%ff",
    "x=1;y=2",
    "scope=tenantid%3Aabc&client_secret=tgs_a-b_c",
    "",
]
REFUSED = ["a", "a=1&&b=2", "a=1&", "&a=1", "a=1&a=2", "%61=1&a=2", "a=1&b=2&a=3"]


@pytest.mark.parametrize("text", CASES)
def test_it_reads_what_parse_qs_reads(text: str) -> None:
    expected = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}

    assert parse_form(text.encode()) == expected


@pytest.mark.parametrize("text", REFUSED)
def test_a_field_without_a_value_or_given_twice_is_refused(text: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_form(text.encode())


def test_a_repeated_field_is_named() -> None:
    with pytest.raises(InvalidRequest, match="Parameter scope is given more than once"):
        parse_form(b"scope=a&grant_type=x&scope=b")


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(InvalidRequest):
        parse_form(b"a=\xff\xfe")
