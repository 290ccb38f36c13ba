"""A server for each schema test, handed to Schemathesis as an ASGI app on each backend, and
records that exist on it (an accepted application, a token, an upload) for the cases that
should reach past ``404`` and ``403``.

Schemathesis runs the app on an event loop of its own: it starts the app's lifespan, which
opens the services, and ends it, closing them, when the test ends. The records are made
before, by a node of their own over the same database, which the app then loads."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from starlette.types import ASGIApp

from tenantgate.app import create_app
from tenantgate.settings import Settings
from tests import factories as f
from tests.conftest import ADMIN_TOKEN
from tests.tokens.servers import http_client, running


@dataclass(frozen=True)
class Records:
    application_id: str
    client_id: str
    client_secret: str
    secret_id: str
    tenant_id: str
    token: str  # live, for introspection
    token_to_end: str  # for invalidation and revocation
    payload_id: int

    def path(self, name: str, value: object) -> object:
        """An existing record's id for the path parameter ``name``, if there is one."""
        existing = {
            "application_id": self.application_id,
            "secret_id": self.secret_id,
            "tenant_id": self.tenant_id,
            "app": "sdmo",
            "payload_id": self.payload_id,
        }
        return existing.get(name, value)


@pytest.fixture(scope="module")
def node_settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("schema"),
        secret_key="test-server-secret",
        admin_token=ADMIN_TOKEN,
        commit_interval_ms=1.0,
        refapps=False,  # not what these tests are about, and a second a server
        failure_limit=1_000_000,  # random credentials fail all the time
    )


@pytest.fixture(scope="module")
async def records(node_settings: Settings) -> Records:
    """Made once a module: what a test changes (a secret retired, an API user deleted), the
    next finds changed, which is a case like any other."""
    async with running(node_settings) as services, http_client(services) as client:
        setup = await f.accepted_setup(client)
        token, token_to_end = [(await f.get_token(client, setup))["access_token"] for _ in "ab"]
        upload = await client.post(
            "/v1/asyncContext/schema-test/upload",
            content=b'{"n": 1}',
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert upload.status_code == 201, upload.text
    return Records(
        setup.application_id,
        setup.client_id,
        setup.client_secret,
        setup.secret_id,
        setup.tenant_id,
        token,
        token_to_end,
        upload.json()["id"],
    )


@pytest.fixture
def app(node_settings: Settings, records: Records) -> ASGIApp:
    return create_app(node_settings)
