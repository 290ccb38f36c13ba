"""Reading gateway usage back: the rows of a range summed per step in the database (every node's
rows, every minute of an hour or a day, latency histograms added bucket by bucket), then the
percentiles worked out from the sums here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, func, literal_column, select

from tenantgate.storage import models as m
from tenantgate.storage.database import Database
from tenantgate.storage.usage import (
    CLASS_COLUMNS,
    CLASSES,
    FAILURES,
    LATENCY_BUCKETS,
    LATENCY_COLUMNS,
    percentiles,
)

STEPS = {"minute": 1, "hour": 60, "day": 1440}
"""Minutes per step; hours and days are UTC."""
MAX_POINTS = 1440
MAX_MINUTE = 2**31 - 1  # usage_minutes.minute is a 32-bit integer in PostgreSQL (year 6053)
QUANTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True, slots=True)
class Filter:
    tenant_id: str | None = None
    application_id: str | None = None
    app: str | None = None


@dataclass(slots=True)
class Point:
    minute: int
    requests: int = 0
    classes: list[int] = field(default_factory=lambda: [0] * len(CLASSES))
    codes: dict[str, int] = field(default_factory=dict)
    latency: list[int] = field(default_factory=lambda: [0] * LATENCY_BUCKETS)

    @property
    def refused(self) -> int:
        return sum(n for code, n in self.codes.items() if code not in FAILURES)

    def as_json(self) -> dict[str, Any]:
        p50, p95, p99 = percentiles(self.latency, QUANTILES) or (None, None, None)
        return {
            "at": datetime.fromtimestamp(self.minute * 60, UTC).isoformat().replace("+00:00", "Z"),
            "requests": self.requests,
            "refusals": {c: n for c, n in sorted(self.codes.items()) if c not in FAILURES},
            "failures": {c: n for c, n in sorted(self.codes.items()) if c in FAILURES},
            "upstream": dict(zip(CLASSES, self.classes, strict=True)),
            "latency_ms": {"p50": p50, "p95": p95, "p99": p99},
        }


async def usage_series(
    db: Database, where: Filter, since: int, until: int, step: int
) -> list[Point]:
    """One point per ``step`` minutes from minute ``since`` (a multiple of ``step``) up to
    ``until`` (excluded), every step present, zero where nothing was counted."""
    points = [Point(minute) for minute in range(since, until, step)]
    bucket = _bucket(m.UsageMinutes, step)
    sums = [func.sum(m.UsageMinutes.c[name]) for name in ("requests", *CLASS_COLUMNS)]
    sums += [func.sum(m.UsageMinutes.c[name]) for name in LATENCY_COLUMNS]
    minutes = _within(select(bucket, *sums), m.UsageMinutes, where, since, until)
    code_bucket = _bucket(m.UsageCodes, step)
    codes = _within(
        select(code_bucket, m.UsageCodes.c.code, func.sum(m.UsageCodes.c.count)),
        m.UsageCodes,
        where,
        since,
        until,
    ).group_by(m.UsageCodes.c.code)
    async with db.session() as session:
        for row in (await session.execute(minutes.group_by(bucket))).all():
            point = points[(int(row[0]) * step - since) // step]
            point.requests = int(row[1])
            point.classes = [int(n) for n in row[2 : 2 + len(CLASSES)]]
            point.latency = [int(n) for n in row[2 + len(CLASSES) :]]
        for at, code, count in (await session.execute(codes.group_by(code_bucket))).all():
            points[(int(at) * step - since) // step].codes[code] = int(count)
    return points


def _bucket(table: Table, step: int) -> ColumnElement[Any]:
    """``minute / step`` on integers, the same text in SELECT and GROUP BY (inlined)."""
    return table.c.minute.op("/")(literal_column(str(int(step))))


def _within(query: Select[Any], table: Table, where: Filter, since: int, until: int) -> Select[Any]:
    query = query.where(table.c.minute >= since, table.c.minute < until)
    for column in ("tenant_id", "application_id", "app"):
        value = getattr(where, column)
        if value is not None:
            query = query.where(table.c[column] == value)
    return query


class BadWindow(ValueError):
    """The range asked for cannot be answered: its description says why."""


def window(since: float | None, until: float | None, step: int, now: float) -> tuple[int, int]:
    """``[since, until)`` in minutes, widened to whole steps: ``until`` defaults to now (the
    current step included), ``since`` to 60 steps before it (24 hours, 30 days)."""
    span = {1: 60, 60: 24, 1440: 30}[step] * step
    end = _ceil(int((now if until is None else until) // 60) + (until is None), step)
    start = end - span if since is None else int(since // 60) // step * step
    if start >= end:
        raise BadWindow("since must be before until")
    if end > MAX_MINUTE:
        raise BadWindow("since and until must be before 6053-01-23T02:07Z")
    if (end - start) // step > MAX_POINTS:
        raise BadWindow(f"at most {MAX_POINTS} points: narrow the range or take a longer step")
    return start, end


def _ceil(minute: int, step: int) -> int:
    return -(-minute // step) * step
