"""A shared store (Redis) that a node may have to do without: while it fails, the node counts
in its own memory, says so once when the episode starts and once when it ends, and lets one
request every :data:`RETRY_INTERVAL` seconds ask the store again (the others do not each wait
for a timeout). Used by the token endpoint's failure limits and the gateway's rate limits."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from tenantgate.clock import Clock

RETRY_INTERVAL = 2.0

log = structlog.get_logger(__name__)


class Fallback:
    def __init__(
        self,
        clock: Clock,
        where: str,
        *,
        down: str,
        up: str,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self._clock = clock
        self._where = where
        self._down, self._up = down, up
        self._on_change = on_change
        self._failing: str | None = None
        self._retry_at = 0.0

    @property
    def failing(self) -> bool:
        return self._failing is not None

    def may_ask(self, now: float) -> bool:
        """Always while the store answers; once it failed, one request per interval."""
        if self._failing is None:
            return True
        if now < self._retry_at:
            return False
        self._retry_at = now + RETRY_INTERVAL
        return True

    def failed(self, why: str) -> None:
        self._retry_at = self._clock() + RETRY_INTERVAL
        if self._failing is None:
            log.warning(self._down, redis=self._where, reason=why)
            if self._on_change is not None:
                self._on_change(False)
        self._failing = why

    def recovered(self) -> None:
        if self._failing is not None:
            log.info(self._up, redis=self._where, was=self._failing)
            if self._on_change is not None:
                self._on_change(True)
            self._failing = None
