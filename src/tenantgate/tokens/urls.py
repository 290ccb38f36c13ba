"""The ``urls`` block of a token answer: where this tenant's apps, the WebSocket endpoint,
async contexts and invalidation are, on the deployment's public base URL (or the tenant
region's, ``TENANTGATE_REGION_URLS``)."""

from __future__ import annotations

from typing import Any

from tenantgate.registry.state import TenantRecord
from tenantgate.settings import Settings

CACHE_SIZE = 1024


class PublicUrls:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._cache: dict[tuple[str, ...], dict[str, Any]] = {}

    def __call__(self, base: str, tenant: TenantRecord, apps: list[str]) -> dict[str, Any]:
        """Built once per base URL, tenant location and app list and then shared: a block is
        only ever serialised."""
        key = (base, tenant.region, tenant.cluster, *apps)
        urls = self._cache.get(key)
        if urls is None:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            urls = self._cache[key] = self._build(base, tenant, apps)
        return urls

    def _build(self, base: str, tenant: TenantRecord, apps: list[str]) -> dict[str, Any]:
        settings = self._settings
        base = settings.region_urls.get(tenant.region, base).rstrip("/")
        websocket = settings.websocket_url or base.replace("http", "ws", 1) + "/v1/ws"
        return {
            "asyncContextUpload": base + "/v1/asyncContext/{AsyncContextId}/upload",
            "asyncContextError": base + "/v1/asyncContext/{AsyncContextId}/error",
            "websocket": websocket,
            "invalidateToken": base + "/v1/token",
            "apps": {
                name: {"graphQL": f"{base}/v1/fwd/{tenant.cluster}/{name}/api"} for name in apps
            },
        }
