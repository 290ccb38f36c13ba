"""``GET /admin/v1/usage``: the gateway's usage as a series, per minute, hour or day (UTC), for
a tenant, an application, an app or any mix of them; without a filter, everything, the
refusals that came before a token was read included (docs/usage.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from tenantgate.http import JSONResponse
from tenantgate.registry import rules
from tenantgate.services import Services
from tenantgate.storage.usage_series import (
    STEPS,
    BadWindow,
    Filter,
    usage_series,
    window,
)


class LatencyOut(BaseModel):
    p50: float | None
    p95: float | None
    p99: float | None


class PointOut(BaseModel):
    at: str
    requests: int
    refusals: dict[str, int]
    failures: dict[str, int]
    upstream: dict[str, int]
    latency_ms: LatencyOut


class UsageOut(BaseModel):
    step: str
    since: str
    until: str
    points: list[PointOut]


def usage_routes(router: APIRouter, services: Services) -> None:
    @router.get("/usage", response_model=UsageOut, tags=["usage"])
    async def usage(
        tenant_id: str | None = Query(None, pattern=rules.TENANT_ID.pattern),
        application_id: str | None = Query(None, pattern=rules.APPLICATION_ID.pattern),
        app: str | None = Query(None, pattern=rules.APP_NAME.pattern),
        since: datetime | None = Query(
            None, description="ISO 8601 (without an offset, UTC); default 60 steps before until."
        ),
        until: datetime | None = Query(
            None, description="ISO 8601, excluded; default now, the current step included."
        ),
        step: Literal["minute", "hour", "day"] = Query("minute"),
    ) -> Any:
        """One point per step, oldest first, every step present (zero where nothing was
        counted), at most 1,440: requests; the gateway's refusals and failures by code; the
        upstream's answers by status class; latency percentiles (ms) of the requests that
        reached for the upstream. Written once a minute: the current minute shows up after it
        ends."""
        minutes = STEPS[step]
        try:
            start, end = window(_epoch(since), _epoch(until), minutes, services.clock())
        except BadWindow as exc:
            return _invalid(str(exc))
        where = Filter(tenant_id, application_id, app)
        points = await usage_series(services.db, where, start, end, minutes)
        body = {
            "step": step,
            "since": _iso(start),
            "until": _iso(end),
            "points": [point.as_json() for point in points],
        }
        return JSONResponse(body)


def _epoch(at: datetime | None) -> float | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def _iso(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, UTC).isoformat().replace("+00:00", "Z")


def _invalid(description: str) -> Any:
    body = {"error": "invalid_request", "error_description": description}
    return JSONResponse(body, status_code=400)
