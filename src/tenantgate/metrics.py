"""Prometheus metrics of one node, served at ``GET /metrics``.

Each node (each ``Services``) has a registry of its own rather than the library's global one,
so that several apps in one process (the tests, the demo) never share or clash. Labels carry
no tenant, client or app names: their number is bounded whatever the registrations are, and
a scrape tells nobody who the customers are. Counting costs one locked add per event."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # a leaf module: storage uses it, and imports nothing above itself
    from tenantgate.registry.state import RegistryState

COMMIT_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
APPLY_BUCKETS = (1, 2, 5, 10, 50, 100, 500, 1000, 5000, 20000)
EXPIRY_WINDOW_DAYS = 30


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(
        self, state: RegistryState | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        registry = self.registry = CollectorRegistry()
        self.tokens_issued = Counter(
            "tenantgate_tokens_issued", "Access tokens issued.", registry=registry
        )
        self.refused = _CountBy(
            Counter(
                "tenantgate_token_refusals",
                "Token requests refused, by OAuth error code.",
                ["error"],
                registry=registry,
            )
        )
        self.tokens_invalidated = Counter(
            "tenantgate_tokens_invalidated",
            "Access tokens invalidated (DELETE /v1/token or RFC 7009 revocation).",
            registry=registry,
        )
        self.gateway = _CountBy(
            Counter(
                "tenantgate_gateway_requests",
                "Gateway requests, by the status answered (499: the client went away).",
                ["status"],
                registry=registry,
            )
        )
        self.commit_seconds = Histogram(
            "tenantgate_group_commit_seconds",
            "Time to commit one batch of the group-commit writer.",
            buckets=COMMIT_BUCKETS,
            registry=registry,
        )
        self.commit_rows = Counter(
            "tenantgate_group_commit_rows",
            "Rows committed by the group-commit writer.",
            registry=registry,
        )
        self.commit_failures = Counter(
            "tenantgate_group_commit_failures",
            "Batches that could not be committed (their requests were answered 503).",
            registry=registry,
        )
        self.changes_applied = Counter(
            "tenantgate_feed_changes_applied",
            "Change-feed rows applied to this node's memory (its own writes included).",
            registry=registry,
        )
        self.apply_batch = Histogram(
            "tenantgate_feed_apply_batch_size",
            "Changes applied per read of the change feed (reads that found some).",
            buckets=APPLY_BUCKETS,
            registry=registry,
        )
        self.notifications = Counter(
            "tenantgate_feed_notifications",
            "PostgreSQL notifications that woke the change feed.",
            registry=registry,
        )
        self.feed_failures = Counter(
            "tenantgate_feed_read_failures",
            "Reads of the change feed that failed (database slow, gone or refusing).",
            registry=registry,
        )
        self.stale_refusals = _CountBy(
            Counter(
                "tenantgate_stale_refusals",
                "Requests refused with 503 because this node could not confirm that its memory "
                "is current within TENANTGATE_MAX_STALENESS, by surface.",
                ["surface"],
                registry=registry,
            )
        )
        self.limiter_fallback = Counter(
            "tenantgate_limiter_fallback",
            "Failure-limit checks and failures counted in this node's memory because the "
            "shared Redis did not answer.",
            registry=registry,
        )
        self.limiter_shared = Gauge(
            "tenantgate_limiter_shared",
            "1 while the failure limits are shared through Redis, 0 while this node counts "
            "on its own.",
            registry=registry,
        )
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        if state is not None:
            registry.register(_RegistryCollector(state, clock))

    def watch_feed(self, lag: Callable[[], float]) -> None:
        """Report ``lag()`` (seconds since the change feed last confirmed this node current)
        at each scrape."""
        self.registry.register(_LagCollector(lag))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _CountBy:
    """A counter with one label, counted by calling it with the label's value; the labelled
    child is looked up once per value rather than on every event."""

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._children: dict[object, Counter] = {}

    def __call__(self, value: object) -> None:
        child = self._children.get(value)
        if child is None:
            child = self._children[value] = self._counter.labels(str(value))
        child.inc()


class _RegistryCollector(Collector):
    """What this node holds in memory, read at scrape time (no database query)."""

    def __init__(self, state: RegistryState, clock: Callable[[], float]) -> None:
        self._state = state
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        state = self._state
        sizes = {
            "applications": ("Registered applications.", len(state.applications)),
            "tenants": ("Tenants.", len(state.tenants)),
            "api_users": ("API users (accepted applications).", len(state.api_users)),
            "invalidated_tokens": ("Invalidated tokens not yet expired.", len(state.revoked)),
        }
        for name, (documentation, value) in sizes.items():
            yield GaugeMetricFamily(f"tenantgate_{name}", documentation, value=value)
        yield from self._secrets()

    def _secrets(self) -> Iterator[Metric]:
        """Unretired secrets by expiry: one pass over the secrets in memory at each scrape
        (1.3 ms for 10,000 applications of two secrets each), so the count moves with the
        clock, not only with writes. The window counts the expired ones too: an alert on it
        keeps firing until the secret is rotated, instead of clearing when it expires."""
        now = self._clock()
        until = now + EXPIRY_WINDOW_DAYS * 86400
        expiring = expired = 0
        for application in list(self._state.applications.values()):
            for secret in application.secrets:
                if secret.retired_at is None and secret.expires_at is not None:
                    expiring += secret.expires_at <= until
                    expired += secret.expires_at <= now
        window = GaugeMetricFamily(
            "tenantgate_client_secrets_expiring",
            "Unretired client secrets that expire within the window or have expired.",
            labels=["window"],
        )
        window.add_metric([f"{EXPIRY_WINDOW_DAYS}d"], expiring)
        yield window
        yield GaugeMetricFamily(
            "tenantgate_client_secrets_expired",
            "Unretired client secrets past their expiry: they authenticate nothing.",
            value=expired,
        )


class _LagCollector(Collector):
    def __init__(self, lag: Callable[[], float]) -> None:
        self._lag = lag

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "tenantgate_feed_lag_seconds",
            "Seconds since a read of the change feed last confirmed that this node is current.",
            value=self._lag(),
        )
