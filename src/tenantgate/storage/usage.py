"""Gateway usage, counted in memory per (tenant, application, app) and minute, written with the
group commit once the minute is over.

A request costs a dict look-up and a few integer increments: no lock (one event loop), no
database round trip, no list that grows with traffic. Latency goes into a fixed histogram of
:data:`BOUNDS` (log-spaced), so that minutes, nodes, hours and days merge by adding counts and
percentiles are read from the sum (:func:`percentiles`), exact to a bucket's width.

Each node writes its own rows, one per key and minute in ``usage_minutes`` (requests, upstream
status classes, the latency histogram) and one per code in ``usage_codes`` (the gateway's
refusals and failures); rows are only ever inserted, and a read sums every row of a minute,
whichever node wrote it and however often (a node stopped mid-minute writes what it has, and
writes the rest of that minute again after it starts). Past ``max_keys`` keys pending, a new
key is counted under ``("*", "*", "*")``: an attacker varying the app in the path cannot grow
the table or the memory without bound."""

from __future__ import annotations

import asyncio
import contextlib
import math
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any, Protocol

Key = tuple[str | None, str | None, str | None, int]
Row = tuple[Any, ...]

BOUNDS_MS: tuple[int, ...] = (1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500)
BOUNDS_MS += (700, 1000, 1500, 2000, 3000, 5000, 10_000, 30_000)
"""Upper bounds (ms) of the latency buckets; one more bucket holds what is slower."""
BOUNDS = tuple(bound / 1000 for bound in BOUNDS_MS)
LATENCY_BUCKETS = len(BOUNDS) + 1
CLASSES = ("2xx", "3xx", "4xx", "5xx")
_CLASS = (0, 0, 0, 1, 2, 3, 3, 3, 3, 3)  # status // 100 → index in CLASSES (1xx counts as 2xx)
FAILURES = frozenset({"BAD_GATEWAY", "GATEWAY_TIMEOUT", "CLIENT_GONE"})
"""Codes of requests that reached for the upstream and got no answer through: their latency is
counted, and they are read apart from the gateway's refusals."""
OVERFLOW = "*"
APP_LENGTH = 100

LATENCY_COLUMNS = tuple(f"l{i:02d}" for i in range(LATENCY_BUCKETS))
CLASS_COLUMNS = ("s2xx", "s3xx", "s4xx", "s5xx")
KEY_COLUMNS = ("minute", "tenant_id", "application_id", "app")
MINUTE_COLUMNS = (*KEY_COLUMNS, "requests", *CLASS_COLUMNS, *LATENCY_COLUMNS)
INSERT_MINUTE = (
    f"INSERT INTO usage_minutes ({', '.join(MINUTE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(MINUTE_COLUMNS))})"
)
INSERT_CODE = (
    "INSERT INTO usage_codes (minute, tenant_id, application_id, app, code, count) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


class Writer(Protocol):
    def add_usage(self, statements: list[tuple[str, list[Row]]]) -> None: ...


class Minute:
    """What one key did in one minute."""

    __slots__ = ("classes", "codes", "latency", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.classes = [0, 0, 0, 0]
        self.codes: dict[str, int] = {}
        self.latency = [0] * LATENCY_BUCKETS


class UsageTally:
    def __init__(
        self,
        writer: Writer,
        clock: Callable[[], float],
        *,
        max_keys: int = 10_000,
        check_every: float = 1.0,
    ) -> None:
        self._writer = writer
        self._clock = clock
        self._max_keys = max_keys
        self._check_every = check_every
        self._pending: dict[Key, Minute] = {}
        self._oldest = math.inf
        self._task: asyncio.Task[None] | None = None

    def record(
        self,
        tenant_id: str | None,
        application_id: str | None,
        app: str | None,
        status: int,
        code: str | None,
        seconds: float,
    ) -> None:
        """One request: answered by the upstream with ``status`` (``code`` is ``None``), or
        refused or failed by the gateway with ``code``. ``seconds`` it took in the gateway."""
        minute = int(self._clock() // 60)
        usage = self._pending.get((tenant_id, application_id, app, minute))
        if usage is None:
            usage = self._open((tenant_id, application_id, app, minute))
        usage.requests += 1
        if code is None:
            usage.classes[_CLASS[status // 100 % 10]] += 1
        else:
            usage.codes[code] = usage.codes.get(code, 0) + 1
            if code not in FAILURES:
                return
        usage.latency[bisect_left(BOUNDS, seconds)] += 1

    def _open(self, key: Key) -> Minute:
        if len(self._pending) >= self._max_keys:
            key = (OVERFLOW, OVERFLOW, OVERFLOW, key[3])
            found = self._pending.get(key)
            if found is not None:
                return found
        self._oldest = min(self._oldest, key[3])
        usage = self._pending[key] = Minute()
        return usage

    def flush(self, *, everything: bool = False) -> int:
        """Hand the minutes that are over (``everything``: all, the node stops) to the writer;
        the number of keys written."""
        now = math.inf if everything else int(self._clock() // 60)
        closed = [key for key in self._pending if key[3] < now]
        if not closed:
            return 0
        minutes: list[Row] = []
        codes: list[Row] = []
        for key in closed:
            usage = self._pending.pop(key)
            where = (key[3], key[0], key[1], key[2][:APP_LENGTH] if key[2] else key[2])
            minutes.append((*where, usage.requests, *usage.classes, *usage.latency))
            codes += [(*where, code, count) for code, count in usage.codes.items()]
        self._oldest = min((key[3] for key in self._pending), default=math.inf)
        statements = [(INSERT_MINUTE, minutes)]
        if codes:
            statements.append((INSERT_CODE, codes))
        self._writer.add_usage(statements)
        return len(closed)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tenantgate-usage-tally")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.flush(everything=True)

    async def _run(self) -> None:
        """A minute is written within ``check_every`` of its end, whether traffic goes on or
        not."""
        while True:
            await asyncio.sleep(self._check_every)
            if self._oldest < self._clock() // 60:
                self.flush()


def percentiles(latency: Sequence[int], quantiles: Sequence[float]) -> list[float] | None:
    """The quantiles (0 to 1) of a latency histogram, in ms, interpolated within their bucket
    (the open last bucket answers its lower bound); ``None`` for an empty histogram."""
    total = sum(latency)
    if not total:
        return None
    found = []
    for quantile in quantiles:
        rank = quantile * total
        seen = 0
        for index, count in enumerate(latency):
            if count and seen + count >= rank:
                low = BOUNDS_MS[index - 1] if index else 0
                high = BOUNDS_MS[index] if index < len(BOUNDS_MS) else low
                found.append(round(low + (high - low) * (rank - seen) / count, 1))
                break
            seen += count
    return found
