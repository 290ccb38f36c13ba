"""``Policy.check`` keeps the operation a POST body reads as by the body's bytes and media type:
a body seen before is not read again, yet the app's limits and the caller's roles are compared
with it on every request, as memory holds them then; a body that does not read is read (and
refused) every time; what is kept is bounded."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tenantgate.gateway.errors import BadRequest, QueryTooComplex, RoleForbids, UnsupportedMediaType
from tenantgate.gateway.policy import MAX_KEPT_BODY, Policy, Read, Source
from tenantgate.gateway.request import GraphQLRequest, from_body
from tenantgate.registry.grants import grants
from tenantgate.registry.limits import QueryLimits
from tenantgate.registry.state import (
    ApiUserRecord,
    AppRoute,
    RegistryState,
    RoleRecord,
    TenantRecord,
)
from tenantgate.tokens.verifier import Access, AccessClaims

JSON = b"application/json"
ITEMS = b'{"query": "{ items { id } }"}'
ROUTE = AppRoute("sdmo", "http://127.0.0.1:1/graphql", None)
TENANT = TenantRecord("t1", "T", "eu", "c1", "active", {"sdmo": ROUTE})


def access(state: RegistryState, roles: tuple[str, ...] | None = ("reader",)) -> Access:
    user = ApiUserRecord("t1", "a1", True, None, 1, roles=roles)
    state.put_api_user(user)
    claims = AccessClaims("j", "c", "t1", "a1", frozenset({"sdmo"}), 1, 0, 900, "i", "a", "s")
    return Access(claims, TENANT, user)


def role(state: RegistryState, fields: list[str]) -> None:
    given = [{"app": "sdmo", "operations": ["query"], "fields": fields}]
    state.put_role(RoleRecord("t1", "reader", grants(given)))


class Reads:
    """``from_body`` for a source, counting how often it is called."""

    def __init__(self) -> None:
        self.count = 0

    def of(self, source: Source) -> Read:
        def read() -> GraphQLRequest:
            self.count += 1
            return from_body(source[1], source[0])

        return read


def checker(policy: Policy, state: RegistryState) -> tuple[Reads, Callable[..., object]]:
    reads = Reads()

    def check(source: Source, route: AppRoute = ROUTE) -> object:
        return policy.check(access(state), "sdmo", route, reads.of(source), source=source)

    return reads, check


def test_a_body_seen_before_is_not_read_again_but_its_roles_are_checked_again():
    state = RegistryState()
    role(state, ["items"])
    reads, check = checker(Policy(state), state)

    assert check((JSON, ITEMS)) is not None
    assert check((JSON, ITEMS)) is not None
    assert reads.count == 1

    role(state, ["sites"])
    with pytest.raises(RoleForbids):
        check((JSON, ITEMS))
    assert reads.count == 1


def test_a_kept_body_is_held_to_each_apps_limits():
    state = RegistryState()
    role(state, ["items"])
    reads, check = checker(Policy(state), state)
    strict = AppRoute("sdmo", ROUTE.graphql_url, None, QueryLimits(max_depth=1))
    few_tokens = AppRoute("sdmo", ROUTE.graphql_url, None, QueryLimits(max_tokens=3))

    assert check((JSON, ITEMS)) is not None
    with pytest.raises(QueryTooComplex) as deep:
        check((JSON, ITEMS), strict)
    with pytest.raises(QueryTooComplex) as long:
        check((JSON, ITEMS), few_tokens)

    assert (deep.value.limit, long.value.limit) == ("max_depth", "max_tokens")
    assert reads.count == 1


def test_the_same_bytes_under_another_media_type_are_read_as_that_type():
    state = RegistryState()
    role(state, ["items"])
    reads, check = checker(Policy(state), state)
    check((JSON, ITEMS))

    with pytest.raises(UnsupportedMediaType):
        check((b"application/graphql", ITEMS))

    assert reads.count == 2


def test_a_body_that_does_not_read_is_read_every_time():
    state = RegistryState()
    role(state, ["items"])
    reads, check = checker(Policy(state), state)

    for _ in range(2):
        with pytest.raises(BadRequest):
            check((JSON, b'{"query": 1}'))

    assert reads.count == 2


def test_bodies_kept_are_bounded_and_large_ones_are_not_kept():
    state = RegistryState()
    role(state, ["items"])
    reads, check = checker(Policy(state, cache_size=2), state)
    bodies = [b'{"query": "{ items { id%d: id } }"}' % n for n in range(3)]
    large = b'{"query": "{ items { id } }"%s}' % (b" " * MAX_KEPT_BODY)

    for body in bodies + bodies[:1] + [large, large]:
        check((JSON, body))

    assert reads.count == 3 + 1 + 2  # the first body was dropped for the third; large: twice
