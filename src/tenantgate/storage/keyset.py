"""Reading one page of a table in the order of a unique key, after a given key: keyset
paging. The database walks an index from the key on and stops after the page, whatever the
size of the table; no offset, so rows written meanwhile move no other row between pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute

S = TypeVar("S", bound=Select[Any])


def seek(
    query: S,
    key: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]],
    after: Sequence[Any] | None,
    limit: int,
    *,
    descending: bool = False,
) -> S:
    """``limit`` rows of ``query`` in the order of ``key`` (ascending, or descending), starting
    after the row whose key is ``after``. ``key`` must be unique and must not change."""
    if after is not None:
        row = tuple_(*key)
        mark = tuple_(*(literal(v, c.type) for v, c in zip(after, key, strict=True)))
        query = query.where(row < mark if descending else row > mark)
    order = [column.desc() if descending else column.asc() for column in key]
    return query.order_by(*order).limit(limit)
