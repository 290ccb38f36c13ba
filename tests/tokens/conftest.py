from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tenantgate.settings import Settings
from tests.tokens.servers import StartServer, server_factory


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The reference apps are not what these tests are about, and cost a second a server."""
    return settings.model_copy(update={"refapps": False})


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[StartServer]:
    async with server_factory(settings) as start:
        yield start
