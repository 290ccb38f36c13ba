"""gql over its HTTPX transports, authenticated by the SDK's ``TenantAuth``."""

from __future__ import annotations

import pytest
from gql import Client as GQLClient
from gql import gql
from gql.transport.httpx import HTTPXAsyncTransport, HTTPXTransport

from tenantgate.client import AsyncClient, Client, TokenCache

from .realserver import APPS, QUERIES, ROOTS, Integration

pytestmark = pytest.mark.slow


def test_httpx_transport(integration: Integration) -> None:
    with Client(**integration.credentials, cache=TokenCache()) as tg:
        for app in APPS:
            transport = HTTPXTransport(url=tg.app_url(app), auth=tg.auth, timeout=10)
            with GQLClient(transport=transport) as session:
                data = session.execute(gql(QUERIES[app]))
            assert data[ROOTS[app]]["edges"]


async def test_httpx_async_transport(integration: Integration) -> None:
    async with AsyncClient(**integration.credentials, cache=TokenCache()) as tg:
        for app in APPS:
            transport = HTTPXAsyncTransport(url=await tg.app_url(app), auth=tg.auth, timeout=10)
            async with GQLClient(transport=transport) as session:
                data = await session.execute(gql(QUERIES[app]))
            assert data[ROOTS[app]]["edges"]
