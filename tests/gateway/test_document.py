"""How the gateway reads a GraphQL document: the operation operationName picks, its type and
root fields through fragments, its size with every spread expanded, and one parse per
document text."""

from __future__ import annotations

import pytest

from tenantgate.gateway.document import DocumentCache, analyse
from tenantgate.gateway.errors import (
    OperationUnresolved,
    ParseFailed,
    QueryTooComplex,
    ValidationFailed,
)


def test_root_fields_are_read_through_fragments_in_document_order():
    document = analyse(
        """
        query Q { __typename ...A ... on Query { c } a }
        fragment A on Query { a b: a ...B }
        fragment B on Query { d __schema { types { name } } }
        """
    )

    operation = document.operation(None)

    assert operation.kind == "query"
    assert operation.fields == ("a", "d", "c")
    assert operation.first == "__typename"
    assert operation.introspection == "__schema"
    assert operation.root_fields == 5
    assert operation.aliases == 1


def test_depth_aliases_and_root_fields_count_every_spread():
    document = analyse(
        """
        { ...F ...F x: items { edges { node { id } } } }
        fragment F on Query { y: items { z: id } }
        """
    )

    operation = document.operation(None)

    assert operation.depth == 4
    assert operation.aliases == 5
    assert operation.root_fields == 3


def test_fragments_spreading_each_other_are_measured_without_expanding_them():
    chain = "\n".join(f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 80))

    operation = analyse("{ ...F79 } fragment F0 on Query { a: items { id } }\n" + chain).operation(
        None
    )

    assert operation.root_fields == 2**79
    assert operation.aliases == 2**79
    assert operation.fields == ("items",)


@pytest.mark.parametrize(
    ("query", "name", "error"),
    [
        ("{ items", None, ParseFailed),
        ("{" * 5000 + "}" * 5000, None, ParseFailed),
        ("{ ...F }", None, ValidationFailed),
        ("{ ...F } fragment F on Query { a { ...F } }", None, ValidationFailed),
        ("{ ...F } fragment F on Query { a } fragment F on Query { b }", None, ValidationFailed),
        ("query A { a } mutation A { b }", "A", ValidationFailed),
        ("{ a } { b }", None, ValidationFailed),
        ("{ a } query B { b }", "B", ValidationFailed),
        ("type Query { a: Int }", None, ValidationFailed),
        ("fragment F on Query { a }", None, OperationUnresolved),
        ("query A { a } query B { b }", None, OperationUnresolved),
        ("query A { a }", "B", OperationUnresolved),
        ("query A { a }", "", OperationUnresolved),
    ],
)
def test_what_cannot_be_read_one_way_is_refused(query, name, error):
    with pytest.raises(error):
        DocumentCache().operation(query, name)


def test_a_document_is_parsed_once_and_the_cache_is_bounded():
    cache = DocumentCache(size=2)

    first = cache.operation("{ a }", None)
    again = cache.operation("{ a }", None)
    cache.operation("{ b }", None)
    cache.operation("{ a }", None)
    cache.operation("{ c }", None)

    assert again is first
    assert len(cache) == 2
    assert cache.operation("{ a }", None) is first
    assert cache.operation("{ b }", None) is not None


def test_a_parse_failure_is_kept_and_raised_afresh_each_time():
    cache = DocumentCache()
    with pytest.raises(ParseFailed) as one:
        cache.operation("{ a", None)
    with pytest.raises(ParseFailed) as two:
        cache.operation("{ a", None)

    assert one.value is not two.value
    assert len(cache) == 1


def test_parsing_stops_at_max_tokens_and_a_larger_allowance_reads_the_document():
    cache = DocumentCache()
    query = "{ a b c d e f }"

    with pytest.raises(QueryTooComplex) as over:
        cache.operation(query, None, max_tokens=5)
    operation = cache.operation(query, None, max_tokens=100)

    assert over.value.extensions == {"limit": "max_tokens", "value": 5}
    assert operation.tokens == 8
