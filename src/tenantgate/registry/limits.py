"""Query limits: how large a GraphQL operation an app takes through the gateway. No I/O here.

An app's limits are its own values; each one it leaves out is the operator's default
(``TENANTGATE_QUERY_MAX_DEPTH`` and the rest, all unset by default, introspection on). The
gateway compares them with the sizes it reads from each document (``gateway.document``): the
deepest field nesting (a root field is at depth 1), the aliased fields, the root fields (every
fragment spread counted, ``__typename`` and introspection not), the document's tokens, and
whether the operation introspects (``__schema``, ``__type``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from tenantgate.registry.errors import InvalidInput

BOUNDS = {
    "max_depth": (1, 1000),
    "max_aliases": (0, 100_000),
    "max_root_fields": (1, 10_000),
    "max_tokens": (1, 1_000_000),
}
NAMES = (*BOUNDS, "introspection")


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_depth: int | None = None
    max_aliases: int | None = None
    max_root_fields: int | None = None
    max_tokens: int | None = None
    introspection: bool | None = None
    """``None``: as the defaults say (introspection on, unless the operator turned it off)."""

    def over(self, defaults: QueryLimits) -> QueryLimits:
        """These limits, each one left out taken from ``defaults``."""
        mine, theirs = asdict(self), asdict(defaults)
        return QueryLimits(**{k: theirs[k] if v is None else v for k, v in mine.items()})

    @property
    def enforced(self) -> bool:
        """Whether any of them can refuse anything."""
        numbers = (self.max_depth, self.max_aliases, self.max_root_fields, self.max_tokens)
        return any(n is not None for n in numbers) or self.introspection is False

    def as_json(self) -> dict[str, int | bool]:
        """The limits given, and only those."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def query_limits(value: Mapping[str, object] | None) -> QueryLimits | None:
    """Limits as given to the admin API (each optional), checked; ``None`` for none."""
    if value is None:
        return None
    unknown = sorted(set(value) - set(NAMES))
    if unknown:
        raise InvalidInput(f"limits: unknown limit {unknown[0]!r}")
    for name, (low, high) in BOUNDS.items():
        number = value.get(name)
        if number is not None and (
            isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high
        ):
            raise InvalidInput(f"limits.{name}: a whole number from {low} to {high}")
    introspection = value.get("introspection")
    if introspection is not None and not isinstance(introspection, bool):
        raise InvalidInput("limits.introspection: true or false")
    limits = QueryLimits(**{f.name: value.get(f.name) for f in fields(QueryLimits)})  # type: ignore[arg-type]
    return limits if limits.as_json() else None
