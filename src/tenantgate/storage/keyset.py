"""Reading one page of a table in the order of a unique key, after a given key: keyset
paging. The database walks an index from the key on and stops after the page, whatever the
size of the table; no offset, so rows written meanwhile move no other row between pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from tenantgate.storage.database import Database

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


async def every(
    db: Database, query: Select[Any], key: Sequence[InstrumentedAttribute[Any]], page: int
) -> AsyncIterator[Any]:
    """Every row of ``query`` in the order of ``key``, read ``page`` rows at a time, each page
    in a session of its own (so each read stays within the database timeout): one query per
    page however many groups the rows fall in."""
    after: tuple[Any, ...] | None = None
    while True:
        async with db.session() as session:
            rows = list((await session.scalars(seek(query, key, after, page))).all())
        for row in rows:
            yield row
        if len(rows) < page:
            return
        after = tuple(getattr(rows[-1], column.key) for column in key)
