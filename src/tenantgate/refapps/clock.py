"""The clock the apps read, injectable so tests control time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]


def utc_datetime(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)
