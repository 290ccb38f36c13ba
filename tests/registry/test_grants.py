"""What a set of roles allows, as the gateway asks it: an operation type and the root fields
it selects, on one app."""

from __future__ import annotations

from tenantgate.registry.grants import Grant, Permissions, Refusal
from tenantgate.registry.state import ApiUserRecord, RegistryState, RoleRecord

READ_STOCK = Grant("sdmo", ("query",), ("items", "stockLevels"))
ORDER = Grant("sdmo", ("mutation",), ("createSalesOrder",))
EVERYTHING_ON_SHOPFLOOR = Grant("shopfloor", ("query", "mutation", "subscription"), None)


def test_a_grant_covers_its_app_its_operation_types_and_its_fields_only():
    allowed = Permissions([[READ_STOCK]])

    assert allowed.refused("sdmo", "query", ["items", "stockLevels"], "items") is None
    assert allowed.refused("sdmo", "query", ["items", "customers"], "items") == Refusal(
        "query", "customers"
    )
    assert allowed.refused("sdmo", "mutation", ["createSalesOrder"], "x") == Refusal(
        "mutation", "createSalesOrder"
    )
    assert allowed.refused("shopfloor", "query", ["workOrders"], "x") == Refusal(
        "query", "workOrders"
    )


def test_grants_of_several_roles_add_up_and_a_star_covers_every_field():
    allowed = Permissions([[READ_STOCK], [ORDER, EVERYTHING_ON_SHOPFLOOR]])

    assert allowed.refused("sdmo", "mutation", ["createSalesOrder"], "x") is None
    assert allowed.refused("shopfloor", "subscription", ["timeRecorded"], "x") is None
    assert allowed.refused("sdmo", "subscription", ["stockChanged"], "x") == Refusal(
        "subscription", "stockChanged"
    )


def test_an_operation_selecting_only_typename_needs_its_operation_type_granted():
    allowed = Permissions([[READ_STOCK]])

    assert allowed.refused("sdmo", "query", [], "__typename") is None
    assert allowed.refused("sdmo", "mutation", [], "__typename") == Refusal(
        "mutation", "__typename"
    )


def test_no_roles_allow_nothing():
    assert Permissions([]).refused("sdmo", "query", ["items"], "items") == Refusal("query", "items")


def test_the_state_compiles_a_users_roles_once_and_again_after_a_role_changes():
    state = RegistryState()
    state.put_role(RoleRecord("t1", "reader", (READ_STOCK,)))
    user = ApiUserRecord("t1", "123", True, None, 1, ("reader",))
    state.put_api_user(user)

    first = state.permissions(user)
    assert first is state.permissions(user)
    state.put_role(RoleRecord("t1", "reader", (ORDER,)))
    changed = state.permissions(user)

    assert changed is not first
    assert changed is not None
    assert changed.refused("sdmo", "query", ["items"], "items") == Refusal("query", "items")
    assert changed.refused("sdmo", "mutation", ["createSalesOrder"], "x") is None
    assert state.permissions(ApiUserRecord("t1", "124", True, None, 1)) is None
