"""Roles and their grants: what a role may name, and what a set of roles allows. No I/O here.

A grant is (app, operation types, root fields): it lets its holder run operations of those
types on that app that select only those root fields, or any root field with ``["*"]``. A
role is a named list of grants of one tenant; an API user that holds roles may do what some
grant of some role allows, and nothing else. ``__typename`` needs no grant, and neither does
introspection (``__schema``, ``__type``), which only an app's limits turn off.

The gateway asks one question per request, :meth:`Permissions.refused`, over the (operation
type, root fields) of the operation it has read; the roles of an API user are compiled into
one table for that once, and kept until the user or a role of its tenant changes
(``RegistryState.permissions``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tenantgate.registry import rules
from tenantgate.registry.errors import InvalidInput

# "." and ".." are left out: no URL path can name them.
ROLE_NAME = re.compile(r"^(?!\.\.?$)[a-z0-9._-]{1,63}$")
FIELD_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,127}$")
OPERATION_TYPES = ("query", "mutation", "subscription")
ALL_FIELDS = "*"
MAX_GRANTS = 100
MAX_FIELDS = 500
MAX_ROLES_HELD = 50
FREE_FIELDS = frozenset({"__typename"})
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


@dataclass(frozen=True, slots=True)
class Grant:
    app: str
    operations: tuple[str, ...]
    fields: tuple[str, ...] | None
    """The root fields, sorted; ``None`` for every field (``["*"]``)."""

    def as_json(self) -> dict[str, object]:
        fields = [ALL_FIELDS] if self.fields is None else list(self.fields)
        return {"app": self.app, "operations": list(self.operations), "fields": fields}


def role_name(value: str) -> str:
    if not isinstance(value, str) or not ROLE_NAME.fullmatch(value):
        raise InvalidInput("role name must be 1 to 63 lower-case letters, digits, '.', '_' or '-'")
    return value


def role_names(values: Sequence[str] | None) -> list[str] | None:
    if values is None:
        return None
    if len(values) > MAX_ROLES_HELD:
        raise InvalidInput(f"roles: at most {MAX_ROLES_HELD}")
    return sorted({role_name(value) for value in values})


def grants(values: Sequence[Mapping[str, object]]) -> tuple[Grant, ...]:
    """Grants as given to the admin API, checked and in a canonical form."""
    if not isinstance(values, Sequence) or len(values) > MAX_GRANTS:
        raise InvalidInput(f"grants: a list of at most {MAX_GRANTS}")
    return tuple(_grant(i, value) for i, value in enumerate(values))


def _grant(index: int, value: Mapping[str, object]) -> Grant:
    where = f"grants[{index}]"
    if not isinstance(value, Mapping) or set(value) != {"app", "operations", "fields"}:
        raise InvalidInput(f"{where}: give exactly app, operations and fields")
    app = value["app"]
    if not isinstance(app, str):
        raise InvalidInput(f"{where}.app: an app name")
    rules.app_name(app)
    return Grant(app, _operations(where, value["operations"]), _fields(where, value["fields"]))


def _operations(where: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{where}.operations: a non-empty list of {', '.join(OPERATION_TYPES)}")
    unknown = sorted(set(value) - set(OPERATION_TYPES))
    if unknown:
        raise InvalidInput(f"{where}.operations: {unknown[0]!r} is not an operation type")
    return tuple(kind for kind in OPERATION_TYPES if kind in value)


def _fields(where: str, value: object) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f'{where}.fields: a non-empty list of root-field names, or ["*"]')
    if ALL_FIELDS in value:
        if len(value) > 1:
            raise InvalidInput(f'{where}.fields: "*" stands alone')
        return None
    if len(value) > MAX_FIELDS:
        raise InvalidInput(f"{where}.fields: at most {MAX_FIELDS}")
    for field in value:
        if not FIELD_NAME.fullmatch(field) or field.startswith("__"):
            raise InvalidInput(f"{where}.fields: {field[:130]!r} is not a root-field name")
    return tuple(sorted(set(value)))


@dataclass(frozen=True, slots=True)
class Refusal:
    operation: str
    field: str | None


class Permissions:
    """What a set of roles allows, as one table: (app, operation type) → the root fields
    granted, or ``None`` for all of them."""

    __slots__ = ("_table",)

    def __init__(self, held: Iterable[Sequence[Grant]]) -> None:
        table: dict[tuple[str, str], frozenset[str] | None] = {}
        for role_grants in held:
            for grant in role_grants:
                for kind in grant.operations:
                    key = (grant.app, kind)
                    granted = table.get(key, frozenset())
                    if granted is None or grant.fields is None:
                        table[key] = None
                    else:
                        table[key] = granted | frozenset(grant.fields)
        self._table = table

    def refused(
        self, app: str, kind: str, fields: Sequence[str], first: str | None
    ) -> Refusal | None:
        """Why an operation of type ``kind`` selecting the root ``fields`` (``__typename`` and
        introspection left out) may not run on ``app``; ``None`` if it may. ``first`` is the
        operation's first root selection, named when no grant covers the operation type."""
        key = (app, kind)
        if key not in self._table:
            return Refusal(kind, fields[0] if fields else first)
        granted = self._table[key]
        if granted is not None:
            for field in fields:
                if field not in granted:
                    return Refusal(kind, field)
        return None
