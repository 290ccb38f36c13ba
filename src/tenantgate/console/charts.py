"""The live view: tokens issued and refused per minute over the last hour, counted in the
database and drawn as a server-rendered SVG bar chart."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Integer, cast, func, literal_column, select

from tenantgate.storage import models as m
from tenantgate.storage.database import Database

KINDS = ("token.issued", "token.refused")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 220, 44, 28, 12


@dataclass(frozen=True)
class TokenMinutes:
    start: float
    issued: list[int]
    refused: list[int]

    def minute(self, index: int) -> str:
        at = datetime.fromtimestamp(self.start + 60 * index, UTC)
        return at.strftime("%H:%M")


async def token_minutes(db: Database, now: float, minutes: int = 60) -> TokenMinutes:
    """Counts of ``token.issued`` and ``token.refused`` audit events per minute, for the
    ``minutes`` whole minutes up to and including the current one."""
    end = (math.floor(now / 60) + 1) * 60
    start = end - 60 * minutes
    at = m.AuditEvent.at
    per_minute = at / literal_column("60.0")  # inline, so GROUP BY matches the SELECT
    bucket = cast(per_minute, Integer) if db.url.startswith("sqlite") else func.floor(per_minute)
    query = (
        select(bucket, m.AuditEvent.kind, func.sum(m.AuditEvent.count))
        .where(m.AuditEvent.kind.in_(KINDS), at >= start, at < end)
        .group_by(bucket, m.AuditEvent.kind)
    )
    issued, refused = [0] * minutes, [0] * minutes
    async with db.session() as session:
        for minute, kind, count in (await session.execute(query)).all():
            index = int(minute) - int(start // 60)
            if 0 <= index < minutes:
                (issued if kind == "token.issued" else refused)[index] += count
    return TokenMinutes(start, issued, refused)


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    issued_y: float
    issued_height: float
    refused_y: float
    refused_height: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    plot_bottom: int
    plot_right: int
    peak: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]
    total_issued: int
    total_refused: int
    rows: list[tuple[str, int, int]]


def layout(counts: TokenMinutes) -> Chart:
    """Stacked bars (issued below, refused above) in a fixed-size plot."""
    n = len(counts.issued)
    peak = _nice(
        max((i + r for i, r in zip(counts.issued, counts.refused, strict=True)), default=0)
    )
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - TOP - BOTTOM
    step = plot_w / max(n, 1)
    bars = []
    for index, (issued, refused) in enumerate(zip(counts.issued, counts.refused, strict=True)):
        issued_h = plot_h * issued / peak
        refused_h = plot_h * refused / peak
        base = TOP + plot_h
        label = f"{counts.minute(index)} UTC: {issued} issued, {refused} refused"
        bars.append(
            Bar(
                round(LEFT + index * step + 1, 1),
                round(max(step - 2, 1), 1),
                round(base - issued_h, 1),
                round(issued_h, 1),
                round(base - issued_h - refused_h, 1),
                round(refused_h, 1),
                label,
            )
        )
    ticks = [(LEFT + i * step, counts.minute(i)) for i in range(0, n, 15)]
    rows = [
        (counts.minute(i), issued, refused)
        for i, (issued, refused) in enumerate(zip(counts.issued, counts.refused, strict=True))
        if issued or refused
    ]
    return Chart(
        WIDTH,
        HEIGHT,
        LEFT,
        TOP,
        TOP + plot_h,
        LEFT + plot_w,
        peak,
        bars,
        ticks,
        sum(counts.issued),
        sum(counts.refused),
        rows,
    )


def _nice(value: int) -> int:
    """The smallest of 5, 10, 25, 50, 100, 250, … that is at least ``value``."""
    nice = 5
    while nice < value:
        for factor in (2, 2.5, 2):
            nice = int(nice * factor)
            if nice >= value:
                break
    return nice
