"""Pages of a list, and the cursors that lead from one page to the next.

Every list is read in the order of a key that is unique and never changes (for example
``(created_at, application_id)``), and a page starts after the key of the previous page's last
row: keyset paging, never an offset. So a row inserted or deleted between two pages moves no
other row across the page boundary: each row that exists throughout is seen exactly once.

The cursor is that key, tagged with the list it belongs to, as base64url JSON. Callers treat it
as opaque; it is checked on the way back in, so a cursor that was altered, cut short or taken
from another list is refused as invalid input rather than failing deeper down."""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import orjson

from tenantgate.registry.errors import InvalidInput

T = TypeVar("T")
U = TypeVar("U")
Value = float | int | str
Part = Callable[[object], Value | None]
"""Reads one part of a key from a decoded cursor: the value, or ``None`` if it is not one."""

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CURSOR = 512
MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL
BAD_CURSOR = "cursor: not a cursor of this list; start again without one"


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    """Where the next page starts; ``None`` on the last page."""

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        return Page([convert(item) for item in self.items], self.next_cursor)


@dataclass(frozen=True)
class Keyset:
    """How one list is ordered: its name, which tags its cursors, and the parts of its key."""

    name: str
    parts: tuple[Part, ...]

    def encode(self, key: Sequence[Value]) -> str:
        raw = orjson.dumps([self.name, *key])
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def decode(self, cursor: str | None) -> tuple[Value, ...] | None:
        if cursor is None:
            return None
        values = _unpack(cursor)
        if not values or values[0] != self.name or len(values) != len(self.parts) + 1:
            raise InvalidInput(BAD_CURSOR)
        key = tuple(part(value) for part, value in zip(self.parts, values[1:], strict=True))
        if any(value is None for value in key):
            raise InvalidInput(BAD_CURSOR)
        return key  # type: ignore[return-value]

    def page(self, rows: list[T], limit: int, key: Callable[[T], Sequence[Value]]) -> Page[T]:
        """``rows`` as read with ``limit + 1``: the extra row only says that there is more."""
        if len(rows) <= limit:
            return Page(rows)
        rows = rows[:limit]
        return Page(rows, self.encode(key(rows[-1])))


def moment(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def row_id(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_ID else None


def matching(pattern: re.Pattern[str]) -> Part:
    def part(value: object) -> str | None:
        return value if isinstance(value, str) and pattern.fullmatch(value) else None

    return part


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit: between 1 and {MAX_LIMIT}")
    return limit


def _unpack(cursor: str) -> list[object] | None:
    if not cursor or len(cursor) > MAX_CURSOR:
        return None
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        return None
    return values if isinstance(values, list) else None
