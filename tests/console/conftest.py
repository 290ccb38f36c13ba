"""Console fixtures: the app over the per-test services, and one signed-in visitor per role."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from starlette.applications import Starlette

from tenantgate.app import create_app
from tenantgate.console.accounts import create_account, find_account
from tenantgate.services import Services
from tenantgate.settings import Settings
from tests.console.visitor import PASSWORD, Visitor

FAILURE_LIMIT = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"failure_limit": FAILURE_LIMIT, "console_signup": True})


@pytest.fixture
def app(services: Services) -> Starlette:
    return create_app(services.settings, services)


@pytest.fixture
async def visitors(app: Starlette) -> AsyncIterator[Callable[..., Visitor]]:
    """Makes visitors, each with a cookie jar of their own."""
    clients: list[httpx.AsyncClient] = []

    def make(base_url: str = "https://tg.example.test", address: str = "203.0.113.7") -> Visitor:
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        client = httpx.AsyncClient(transport=transport, base_url=base_url)
        clients.append(client)
        return Visitor(client)

    yield make
    for client in clients:
        await client.aclose()


def email(role: str) -> str:
    return f"{role}-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
def new_account(services: Services) -> Callable[..., object]:
    async def make(role: str, tenant_ids: tuple[str, ...] = ()) -> str:
        address = email(role)
        await create_account(services, address, PASSWORD, role, list(tenant_ids))
        return address

    return make


@pytest.fixture
def account_id(services: Services) -> Callable[[str], Awaitable[int]]:
    """The id of the account with this e-mail."""

    async def find(address: str) -> int:
        account = await find_account(services, address)
        assert account is not None
        return account.id

    return find


@pytest.fixture
async def operator(visitors: Callable[..., Visitor], new_account) -> Visitor:
    visitor = visitors()
    await visitor.sign_in(await new_account("operator"))
    return visitor


@pytest.fixture
async def developer(visitors: Callable[..., Visitor], new_account) -> Visitor:
    visitor = visitors()
    await visitor.sign_in(await new_account("developer"))
    return visitor
