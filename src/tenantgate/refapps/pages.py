"""Keyset-style paging over ordered rows, independent of GraphQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from tenantgate.refapps.errors import BadUserInput

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class HasId(Protocol):
    @property
    def id(self) -> str: ...


RowT = TypeVar("RowT", bound=HasId)


@dataclass(frozen=True)
class PageRequest:
    first: int = DEFAULT_PAGE_SIZE
    after: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.first <= MAX_PAGE_SIZE:
            raise BadUserInput(f"first must be between 0 and {MAX_PAGE_SIZE}")


@dataclass(frozen=True)
class Page(Generic[RowT]):
    rows: Sequence[RowT]
    start: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.start + len(self.rows) < self.total

    @property
    def has_previous(self) -> bool:
        return self.start > 0


def take_page(rows: Sequence[RowT], request: PageRequest) -> Page[RowT]:
    start = 0 if request.after is None else _index_after(rows, request.after)
    return Page(rows=rows[start : start + request.first], start=start, total=len(rows))


def _index_after(rows: Sequence[RowT], row_id: str) -> int:
    for index, row in enumerate(rows):
        if row.id == row_id:
            return index + 1
    raise BadUserInput("after is not a cursor of this list")
