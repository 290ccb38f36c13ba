"""How many gateway requests an API user may make: a rate (requests per minute, with a burst)
and a daily quota. No I/O here; ``gateway.ratelimit`` counts.

The rate is a token bucket of ``burst`` requests (by default a minute's worth) that refills at
``requests_per_minute``: a caller may send ``burst`` requests at once, then one every
``60 / requests_per_minute`` seconds. The quota counts requests per UTC day. Each value an API
user leaves out is the operator's default (``TENANTGATE_RATE_LIMIT_PER_MINUTE``,
``TENANTGATE_RATE_LIMIT_BURST``, ``TENANTGATE_DAILY_QUOTA``; none by default)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tenantgate.registry.errors import InvalidInput

MAX_PER_MINUTE = 1_000_000
MAX_BURST = 1_000_000
MAX_DAILY = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Allowance:
    """What an API user may send: each ``None`` is unlimited (or, for ``burst``, a minute's
    worth)."""

    per_minute: int | None = None
    burst: int | None = None
    daily: int | None = None

    def over(self, defaults: Allowance) -> Allowance:
        return Allowance(
            self.per_minute if self.per_minute is not None else defaults.per_minute,
            self.burst if self.burst is not None else defaults.burst,
            self.daily if self.daily is not None else defaults.daily,
        )

    @property
    def limited(self) -> bool:
        return self.per_minute is not None or self.daily is not None

    @property
    def capacity(self) -> int:
        """The bucket's size: the burst, else a minute's worth."""
        assert self.per_minute is not None
        return self.burst if self.burst is not None else self.per_minute


UNLIMITED = Allowance()


def rate_limit(value: Mapping[str, object] | None) -> dict[str, int] | None:
    """``{"requests_per_minute", "burst"}``, each optional, as given to the admin API."""
    if value is None:
        return None
    unknown = sorted(set(value) - {"requests_per_minute", "burst"})
    if unknown:
        raise InvalidInput(f"rate_limit: unknown field {unknown[0]!r}")
    checked = {
        "requests_per_minute": _whole(value.get("requests_per_minute"), MAX_PER_MINUTE),
        "burst": _whole(value.get("burst"), MAX_BURST),
    }
    given = {k: v for k, v in checked.items() if v is not None}
    return given or None


def daily_quota(value: object) -> int | None:
    return _whole(value, MAX_DAILY, "daily_quota")


def allowance(rate: Mapping[str, int] | None, daily: int | None) -> Allowance:
    rate = rate or {}
    return Allowance(rate.get("requests_per_minute"), rate.get("burst"), daily)


def _whole(value: object, high: int, field: str = "rate_limit") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise InvalidInput(f"{field}: a whole number from 1 to {high}")
    return value
