"""The change feed: how a node's ``RegistryState`` stays current with the database.

Every write that memory mirrors adds a ``changes`` row in its own transaction
(``storage.changes`` says how a read never misses one). The node that wrote applies its change
before answering. Every node reads the feed when PostgreSQL notifies it (``LISTEN
tenantgate_changes``, sent by a trigger when a row is inserted) and otherwise every
``interval`` seconds, which is also the catch-up path for a notification that was lost. A read
applies all it found as one batch: the entities it names are re-read, one query per kind.

Each successful read confirms that memory was current when it began. ``staleness()`` is the
time since then, and ``is_current()`` says whether it is within ``max_staleness``: past that the
token endpoint, the gateway and ``/readyz`` refuse rather than answer from a memory that may
hold a permission withdrawn elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import structlog
from sqlalchemy.engine import make_url

from tenantgate.clock import Clock
from tenantgate.metrics import Metrics
from tenantgate.registry.loader import REFRESHERS, load_all
from tenantgate.registry.state import RegistryState
from tenantgate.storage.changes import cursor_for, prune
from tenantgate.storage.database import Database, reason

log = structlog.get_logger(__name__)

Listener = Callable[[str, str], Awaitable[None]]

CHANNEL = "tenantgate_changes"
PRUNE_EVERY = 60.0
LISTENER_CHECK_EVERY = 5.0


class ChangeFeed:
    def __init__(
        self,
        db: Database,
        state: RegistryState,
        clock: Clock,
        interval: float,
        *,
        max_staleness: float = 5.0,
        metrics: Metrics | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._state = state
        self._clock = clock
        self._interval = interval
        self.max_staleness = max_staleness
        self._metrics = metrics or Metrics()
        self._monotonic = monotonic
        self._cursor = cursor_for(db.engine.dialect.name)
        self._listeners: list[Listener] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        # One read-and-apply at a time (see ``apply``).
        self._applying = asyncio.Lock()
        self._failing: str | None = None
        self.confirmed_at = -math.inf
        self.listening = False

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    # how current this node is

    def staleness(self) -> float:
        return self._monotonic() - self.confirmed_at

    def is_current(self) -> bool:
        return self.max_staleness == 0 or self.staleness() <= self.max_staleness

    def retry_after(self) -> int:
        """Seconds a refused caller should wait: about one read of the feed."""
        return max(1, math.ceil(self._interval))

    # reading

    async def load(self) -> None:
        """Everything, in the snapshot that the feed then reads on from."""
        started = self._monotonic()
        async with self._db.session() as session:
            await self._cursor.begin(session)
            await load_all(session, self._state, self._clock())
        self.confirmed_at = started

    async def apply(self, *changes: tuple[str, str]) -> None:
        """Changes this node has just committed, applied before its caller answers.

        Reads and applies take turns with the poll's: a poll that fetched a record before this
        write committed would otherwise put the old record back after this apply, and memory
        would go back in time (an app just added missing, an API user just disabled enabled
        again) until the next read. Taking turns, each apply reads after the commits it
        follows, so memory only ever moves forward."""
        async with self._applying, self._db.session() as session:
            await self._refresh(session, list(changes))
        await self._notify_listeners(list(changes))

    async def poll(self) -> int:
        """Read the feed once and apply what it found. Bounded by the database timeout; on
        success the node is confirmed current as of the moment the read began."""
        started = self._monotonic()
        async with (
            asyncio.timeout(self._db.timeout),
            self._applying,
            self._db.session() as session,
        ):
            read = await self._cursor.read(session)
            await self._refresh(session, read.changes)
        self._cursor.advance(read.position)
        self.confirmed_at = max(self.confirmed_at, started)
        await self._notify_listeners(read.changes)
        return len(read.changes)

    async def _refresh(self, session: Any, changes: list[tuple[str, str]]) -> None:
        if not changes:
            return
        keys: dict[str, set[str]] = {}
        for entity, key in changes:
            keys.setdefault(entity, set()).add(key)
        for entity, entity_keys in keys.items():
            refresher = REFRESHERS.get(entity)
            if refresher is not None:
                await refresher(session, self._state, entity_keys)
        self._metrics.changes_applied.inc(len(changes))
        self._metrics.apply_batch.observe(len(changes))

    async def _notify_listeners(self, changes: list[tuple[str, str]]) -> None:
        """Listeners hear of the changes memory does not hold itself (signing keys, the admin
        token), each (entity, key) once per batch."""
        if not self._listeners:
            return
        for entity, key in dict.fromkeys(c for c in changes if c[0] not in REFRESHERS):
            for listener in self._listeners:
                await listener(entity, key)

    # running

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._run(), name="tenantgate-change-feed"))
        if self._db.engine.dialect.name == "postgresql":
            self._tasks.append(asyncio.create_task(self._listen(), name="tenantgate-listen"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _run(self) -> None:
        last_prune = self._monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.poll()
                if self._monotonic() - last_prune >= PRUNE_EVERY:
                    last_prune = self._monotonic()
                    await self._prune()
            except Exception as error:
                self._metrics.feed_failures.inc()
                self._failed(reason(error))
            else:
                self._recovered()

    def _failed(self, why: str) -> None:
        """Logged once per episode, not once per read."""
        if self._failing is None:
            log.warning(
                "change_feed_unavailable",
                host=self._db.host,
                reason=why,
                max_staleness=self.max_staleness,
            )
        self._failing = why

    def _recovered(self) -> None:
        if self._failing is not None:
            log.info("change_feed_recovered", host=self._db.host, was=self._failing)
            self._failing = None

    async def _prune(self) -> None:
        now = self._clock()
        self._state.forget_expired(now)
        async with asyncio.timeout(self._db.timeout):
            async with self._db.begin() as session:
                await prune(session, now)

    # PostgreSQL notifications

    async def _listen(self) -> None:
        """One connection of its own that LISTENs; checked every few seconds, and opened
        again when it is lost. Without it the feed still reads every ``interval``."""
        import asyncpg

        dsn = make_url(self._db.url).set(drivername="postgresql")
        dsn_text = dsn.render_as_string(hide_password=False)
        timeout = self._db.timeout
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(dsn_text, timeout=timeout)
                lost = asyncio.Event()
                connection.add_termination_listener(partial(_set, lost))
                await connection.add_listener(CHANNEL, self._notified)
                self.listening = True
                self._wake.set()  # whatever was sent while nobody listened
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(LISTENER_CHECK_EVERY):
                            await lost.wait()
                    if not lost.is_set():
                        await connection.fetchval("SELECT 1", timeout=timeout)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.debug("change_listener_lost", host=self._db.host, reason=reason(error))
            finally:
                self.listening = False
                if connection is not None:
                    connection.terminate()
            await asyncio.sleep(min(1.0, self._interval))

    def _notified(self, *_args: object) -> None:
        self._metrics.notifications.inc()
        self._wake.set()


def _set(event: asyncio.Event, *_args: object) -> None:
    event.set()
