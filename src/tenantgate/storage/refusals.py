"""Refused requests on the audit trail, counted instead of written one by one.

A guessing attack is thousands of refusals a second: a row for each would turn the audit trail
into an amplifier. Refusals are grouped by what they have in common — kind, reason, error,
caller (client id and address), tenant and application — and by minute. The first refusal of a
group in a minute is written at once, as before; the rest of that minute become one row with
their ``count`` when the minute is over. Past ``max_groups`` groups in one minute, refusals are
counted per (kind, reason, error) alone, with the caller written as ``*``. So a node writes at
most twice ``max_groups`` rows plus one per reason each minute, however fast it is refused at,
and the counts add up to the number of refusals."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

Row = dict[str, Any]
Group = tuple[Any, ...]


class Writer(Protocol):
    def add(self, audit: Row) -> None: ...

    def add_counted(self, audit: Row, count: int) -> None: ...


@dataclass(slots=True)
class _Tally:
    row: Row
    count: int


class RefusalTally:
    def __init__(
        self,
        writer: Writer,
        clock: Callable[[], float],
        *,
        window: float = 60.0,
        max_groups: int = 200,
        check_every: float = 1.0,
    ) -> None:
        self._writer = writer
        self._clock = clock
        self._window = window
        self._max_groups = max_groups
        self._check_every = check_every
        self._minute = -math.inf
        self._seen: set[Group] = set()
        self._pending: dict[Group, _Tally] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, row: Row) -> None:
        minute = row["at"] // self._window
        if minute != self._minute:
            self.flush()
            self._minute = minute
        detail = row["detail"] or {}
        group: Group = (
            row["kind"],
            row["reason"],
            detail.get("error"),
            row["actor"],
            detail.get("address"),
            row["tenant_id"],
            row["application_id"],
        )
        if group not in self._seen:
            if len(self._seen) < self._max_groups:
                self._seen.add(group)
                self._writer.add(row)
                return
            group = group[:3]
            row = {
                **row,
                "actor": "*",
                "tenant_id": None,
                "application_id": None,
                "detail": {"error": group[2], "address": "*"},
            }
        tally = self._pending.get(group)
        if tally is None:
            self._pending[group] = _Tally(row, 1)
        else:
            tally.row = {**tally.row, "at": row["at"]}
            tally.count += 1

    def flush(self) -> None:
        """Hand the counted rows to the writer (the minute is over, or the node stops)."""
        for tally in self._pending.values():
            self._writer.add_counted(tally.row, tally.count)
        self._pending.clear()
        self._seen.clear()
        self._minute = -math.inf

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tenantgate-refusal-tally")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.flush()

    async def _run(self) -> None:
        """Counts are written soon after their minute ends even if no refusal follows."""
        while True:
            await asyncio.sleep(self._check_every)
            if self._pending and self._clock() // self._window != self._minute:
                self.flush()
