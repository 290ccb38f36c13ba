"""Failed token requests, counted per client id and per address in a sliding window."""

from __future__ import annotations

import math
from collections import OrderedDict, deque

from tenantgate.clock import Clock


class FailureLimiter:
    def __init__(self, limit: int, window: float, clock: Clock, max_keys: int = 100_000) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, *keys: str) -> int | None:
        """Seconds to wait if any key is over its limit, else None."""
        if not self._failures:
            return None
        now = self._clock()
        waits = [self._wait(key, now) for key in keys]
        blocked = [w for w in waits if w is not None]
        return max(blocked) if blocked else None

    def fail(self, *keys: str) -> None:
        now = self._clock()
        for key in keys:
            times = self._failures.pop(key, None) or deque(maxlen=self._limit)
            times.append(now)
            self._failures[key] = times
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def _wait(self, key: str, now: float) -> int | None:
        times = self._failures.get(key)
        if not times or len(times) < self._limit:
            return None
        wait = times[0] + self._window - now
        return max(1, math.ceil(wait)) if wait > 0 else None
