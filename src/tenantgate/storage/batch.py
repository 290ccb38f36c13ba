"""Group commit: many small writes share one transaction.

A token request hands its audit row to the writer and waits for the batch it landed in to be
committed, so each issuance is durable before its 200 while a busy node commits once every
few milliseconds instead of once per token."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

import structlog

from tenantgate.metrics import Metrics
from tenantgate.storage.database import reason
from tenantgate.storage.sinks import sink_for, writes

log = structlog.get_logger(__name__)


TOUCH_EVERY = 1.0
"""Seconds: "last used" times (of an application, a secret, an API user) are written at most
this often per record, so that a busy client's tokens are plain inserts."""


class StorageUnavailable(Exception):
    """The batch could not be committed: nothing in it may be answered as done."""


@dataclass
class Batch:
    audit: list[dict[str, Any]] = field(default_factory=list)
    touches: dict[tuple[str, str], float] = field(default_factory=dict)
    revocations: dict[str, float] = field(default_factory=dict)
    counted: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    usage: list[tuple[str, list[tuple[Any, ...]]]] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class BatchWriter:
    def __init__(
        self,
        database_url: str,
        interval_ms: float,
        max_batch: int = 2000,
        metrics: Metrics | None = None,
        *,
        timeout: float = 5.0,
        pool_size: int = 4,
    ) -> None:
        self._sink = sink_for(database_url, timeout, pool_size)
        self._timeout = timeout
        self._metrics = metrics or Metrics()
        self._interval = interval_ms / 1000
        self._max = max_batch
        self._batch = Batch()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._touched: dict[tuple[str, str], float] = {}
        self._failing: str | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tenantgate-batch-writer")

    async def stop(self) -> None:
        """Commit what is queued and close; bounded by the database timeout, so that a node
        whose database is gone still stops (what could not be committed was not answered as
        done)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            async with asyncio.timeout(self._timeout):
                await asyncio.gather(*self._running, return_exceptions=True)
                if self._batch.audit or self._batch.counted or self._batch.usage:
                    await self._settle(self._take(), asyncio.Semaphore(1))
        except TimeoutError:
            log.warning("batch_writer_stop_timed_out", rows=len(self._batch.audit))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._timeout):
                await self._sink.close()

    def add(
        self,
        audit: dict[str, Any],
        touches: dict[tuple[str, str], float] | None = None,
        revocation: tuple[str, float] | None = None,
    ) -> None:
        """Queue a row without waiting for it (refusals, for instance)."""
        batch = self._batch
        batch.audit.append(audit)
        if touches:
            written = self._touched
            for key, at in touches.items():
                if at - written.get(key, -math.inf) >= TOUCH_EVERY:
                    batch.touches[key] = written[key] = at
        if revocation:
            batch.revocations[revocation[0]] = revocation[1]
        self._wake.set()

    def add_counted(self, audit: dict[str, Any], count: int) -> None:
        """Queue a row that stands for ``count`` events (refusals counted over a minute)."""
        self._batch.counted.append((audit, count))
        self._wake.set()

    def add_usage(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        """Queue the rows of gateway usage minutes (``storage.usage``), each an SQL text with
        its rows."""
        self._batch.usage += statements
        self._wake.set()

    async def write(
        self,
        audit: dict[str, Any],
        touches: dict[tuple[str, str], float] | None = None,
        revocation: tuple[str, float] | None = None,
    ) -> None:
        """Queue a row and wait until its batch is committed: at most the database timeout,
        then :class:`StorageUnavailable` (the row may still be committed later)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._batch.waiters.append(waiter)
        self.add(audit, touches, revocation)
        try:
            async with asyncio.timeout(self._timeout):
                await waiter
        except TimeoutError:
            raise StorageUnavailable("TimeoutError") from None

    async def drain(self) -> None:
        """Wait until every row queued before this call is committed, or its batch failed
        (batches run in parallel, so a later write's commit does not imply an earlier one's)."""
        earlier: list[asyncio.Future[None]] = list(self._running)
        if self._batch.audit or self._batch.counted or self._batch.usage:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._batch.waiters.append(waiter)
            self._wake.set()
            earlier.append(waiter)
        async with asyncio.timeout(self._timeout):
            await asyncio.gather(*earlier, return_exceptions=True)

    def _take(self) -> Batch:
        batch, self._batch = self._batch, Batch()
        self._wake.clear()
        return batch

    async def _run(self) -> None:
        """Up to ``sink.parallel`` batches in flight: SQLite has one writer, while PostgreSQL
        overlaps the fsync of one batch with the next (its own group commit does the rest)."""
        slots = asyncio.Semaphore(self._sink.parallel)
        running = self._running
        while True:
            await self._wake.wait()
            await slots.acquire()
            if self._interval and len(self._batch.audit) < self._max:
                await asyncio.sleep(self._interval)
            task = asyncio.create_task(self._settle(self._take(), slots))
            running.add(task)
            task.add_done_callback(running.discard)

    async def _settle(self, batch: Batch, slots: asyncio.Semaphore) -> None:
        metrics = self._metrics
        started = time.perf_counter()
        try:
            await self._commit(batch)
        except Exception as exc:
            metrics.commit_failures.inc()
            self._failed(reason(exc), len(batch.audit))
            for waiter in batch.waiters:
                if not waiter.done():
                    waiter.set_exception(StorageUnavailable(type(exc).__name__))
        else:
            if self._failing:
                log.info("batch_commit_recovered", was=self._failing)
                self._failing = None
            metrics.commit_seconds.observe(time.perf_counter() - started)
            metrics.commit_rows.inc(len(batch.audit))
            for waiter in batch.waiters:
                if not waiter.done():
                    waiter.set_result(None)
        finally:
            slots.release()

    def _failed(self, why: str, rows: int) -> None:
        """Logged once per episode of failures, with the reason; counted every time."""
        if self._failing is None:
            log.error("batch_commit_failed", reason=why, rows=rows)
        self._failing = why

    async def _commit(self, batch: Batch) -> None:
        await self._sink.write(
            writes(batch.audit, batch.touches, batch.revocations, batch.counted, batch.usage)
        )
