"""Reading one page of a table in the order of a unique key, after a given key: keyset
paging. The database walks an index from the key on and stops after the page, whatever the
size of the table; no offset, so rows written meanwhile move no other row between pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute

S = TypeVar("S", bound=Select[Any])
Column = ColumnElement[Any] | InstrumentedAttribute[Any]


def seek(
    query: S,
    key: Sequence[Column],
    after: Sequence[Any] | None,
    limit: int,
    *,
    descending: bool = False,
) -> S:
    """``limit`` rows of ``query`` in the order of ``key`` (ascending, or descending), starting
    after the row whose key is ``after``. ``key`` must be unique and must not change.

    The row comparison ``(a, b) > (x, y)`` is exact; the extra ``a >= x`` says the same for the
    first column alone, which an index on ``a`` (or on ``(tenant_id, a)`` after an equality)
    can start from even where the planner does not take the row comparison to the index."""
    if after is not None:
        first, mark = key[0], tuple_(*(literal(v, c.type) for v, c in zip(after, key, strict=True)))
        if descending:
            query = query.where(first <= after[0], tuple_(*key) < mark)
        else:
            query = query.where(first >= after[0], tuple_(*key) > mark)
    order = [column.desc() if descending else column.asc() for column in key]
    return query.order_by(*order).limit(limit)
