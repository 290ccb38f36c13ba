"""With its database stopped, each surface of a node answers in its own shape within the
database timeout plus a second: the admin API a JSON 503, the console a 503 page, both with
Retry-After; both serve again once the database is back."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tenantgate.app import create_app
from tenantgate.console.accounts import create_account
from tenantgate.services import Services
from tenantgate.settings import Settings
from tests.conftest import ADMIN_TOKEN
from tests.console.visitor import PASSWORD, Visitor
from tests.fault.harness import PgCluster

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
TIMEOUT = 1.0


@pytest.fixture
async def node(pg_cluster: PgCluster, tmp_path: Path) -> AsyncIterator[Services]:
    name = f"surfaces_{uuid.uuid4().hex[:10]}"
    pg_cluster.create_database(name)
    settings = Settings(
        database_url=pg_cluster.sqlalchemy_url(name),
        data_dir=tmp_path,
        secret_key="surfaces-secret",
        admin_token=ADMIN_TOKEN,
        database_timeout=TIMEOUT,
    )
    services = Services.build(settings)
    await services.open()
    try:
        yield services
    finally:
        if pg_cluster.postmaster_pid() is None:
            pg_cluster.start()
        await services.close()
        pg_cluster.drop_database(name)


async def test_admin_api_and_console_answer_503_while_the_database_is_stopped(
    node: Services, pg_cluster: PgCluster
) -> None:
    app = create_app(node.settings, node)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://tg.example.test") as c:
        operator = Visitor(c)
        email = f"operator-{uuid.uuid4().hex[:8]}@example.com"
        await create_account(node, email, PASSWORD, "operator", [])
        assert (await operator.sign_in(email)).status_code == 303
        assert (await c.get("/admin/v1/tenants", headers=ADMIN)).status_code == 200

        pg_cluster.stop("immediate")
        try:
            for _ in range(2):  # the first call finds the connection dead, the next none
                started = time.monotonic()
                admin = await c.get("/admin/v1/tenants", headers=ADMIN)
                assert time.monotonic() - started < TIMEOUT + 1.0
                assert admin.status_code == 503
                assert admin.json()["error"] == "temporarily_unavailable"
                assert admin.headers["retry-after"]

                started = time.monotonic()
                page = await operator.get("/console/tenants")
                assert time.monotonic() - started < TIMEOUT + 1.0
                assert page.status_code == 503
                assert page.headers["content-type"].startswith("text/html")
                assert "cannot reach its database" in page.text
                assert "Traceback" not in page.text
        finally:
            pg_cluster.start()

        deadline = time.monotonic() + 5
        while (await c.get("/admin/v1/tenants", headers=ADMIN)).status_code != 200:
            assert time.monotonic() < deadline, "the admin API did not recover"
        assert (await operator.get("/console/tenants")).status_code == 200
