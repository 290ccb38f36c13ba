"""Deterministic per-tenant seed data helpers."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

SEED_EPOCH = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def tenant_rng(app_name: str, tenant_id: str) -> random.Random:
    digest = hashlib.sha256(f"{app_name}:{tenant_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def tenant_tag(tenant_id: str) -> str:
    return hashlib.sha256(tenant_id.encode()).hexdigest()[:12]


def seed_time(rng: random.Random, days: int = 120) -> datetime:
    return SEED_EPOCH + timedelta(days=rng.randrange(days), minutes=rng.randrange(600))


class IdMaker:
    """Makes ids such as ``itm_3f9a1c22b0e4_00007``: kind, tenant tag, per-tenant counter.

    The tenant tag keeps ids apart across tenants; lookups are also partitioned by tenant,
    so an id of another tenant is simply not found.
    """

    def __init__(self, tenant_id: str) -> None:
        self._tag = tenant_tag(tenant_id)
        self._counters: Counter[str] = Counter()

    def next(self, kind: str) -> str:
        self._counters[kind] += 1
        return f"{kind}_{self._tag}_{self._counters[kind]:05d}"


def item_code(number: int) -> str:
    return f"ITM-{1000 + number}"
