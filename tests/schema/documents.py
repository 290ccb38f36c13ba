"""The OpenAPI documents exactly as a server serves them, read at collection time (Schemathesis
makes one test per operation) from an app that is built but never started: the documents and
the documentation need neither the database nor a token."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tenantgate.app import create_app
from tenantgate.settings import Settings

NEVER_STARTED = Settings(
    database_url="sqlite+aiosqlite://",
    data_dir=Path("/nonexistent/tenantgate-schema"),
    secret_key="test-server-secret",
    admin_token="tga_not-used",
    refapps=False,
)


def served(path: str) -> dict[str, Any]:
    async def fetch() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=create_app(NEVER_STARTED))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.get(path)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document

    return asyncio.run(fetch())
