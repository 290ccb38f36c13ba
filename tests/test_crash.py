"""Everything that answered 2xx survives a crash of the process right after the answer: the
real server is started, asked, and killed with SIGKILL right after the last 2xx of each step
(the registrations, the tokens, the invalidation), then restarted on the same database, where
all of it must still be there."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from tests.conftest import ADMIN_TOKEN, BACKENDS, _create_pg_database, _drop_pg_database, pg_url

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
START_TIMEOUT = 30.0


class Server:
    """One ``uvicorn`` process of tenantgate; only ever killed by its own PID."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTGATE_")}
        self.env.update(
            TENANTGATE_DATABASE_URL=database_url,
            TENANTGATE_SECRET_KEY="crash-test-server-secret",
            TENANTGATE_ADMIN_TOKEN=ADMIN_TOKEN,
            TENANTGATE_DATA_DIR=str(data_dir),
            TENANTGATE_REFAPPS="false",  # not what is tested here, and a second off each start
        )
        self.log_path = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    def start(self) -> httpx.Client:
        port = _free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "tenantgate.app:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_ready()
        return httpx.Client(base_url=self.base_url, timeout=10.0)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, like a power cut of the process."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited at start:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()
        pytest.fail(f"the server did not start in {START_TIMEOUT} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=BACKENDS)
def crash_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"
        return
    name = f"tenantgate_crash_{uuid.uuid4().hex[:12]}"
    asyncio.run(_create_pg_database(name))
    try:
        yield pg_url(name)
    finally:
        asyncio.run(_drop_pg_database(name))


@pytest.fixture
def server(crash_database: str, tmp_path: Path) -> Iterator[Server]:
    server = Server(crash_database, tmp_path)
    try:
        yield server
    finally:
        server.kill()


def answered(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def test_everything_answered_2xx_survives_sigkill(server: Server) -> None:
    with server.start() as http:
        app = answered(
            http.post("/admin/v1/applications", json={"name": "Crash"}, headers=ADMIN), 201
        )
        tenant = answered(
            http.post(
                "/admin/v1/tenants",
                json={"name": "T", "region": "eu", "cluster": "cluster-release"},
                headers=ADMIN,
            ),
            201,
        )
        tenant_path = f"/admin/v1/tenants/{tenant['tenant_id']}"
        answered(
            http.put(
                f"{tenant_path}/apps/sdmo",
                json={"graphql_url": "http://127.0.0.1:9/graphql"},
                headers=ADMIN,
            ),
            201,
        )
        api_user_path = f"{tenant_path}/api-users/{app['application_id']}"
        answered(
            http.put(api_user_path, json={"first_name": "A", "last_name": "B"}, headers=ADMIN),
            201,
        )
    server.kill()

    form = {
        "grant_type": "client_credentials",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "scope": f"tenantid:{tenant['tenant_id']}",
    }
    with server.start() as http:
        doomed = answered(http.post("/v1/token", data=form), 200)["access_token"]
        kept = answered(http.post("/v1/token", data=form), 200)["access_token"]
    server.kill()

    with server.start() as http:
        invalidated = http.delete("/v1/token", headers={"x-tokens": f"accessToken={doomed}"})
        assert invalidated.status_code == 204
    server.kill()

    with server.start() as http:
        shown_app = answered(
            http.get(f"/admin/v1/applications/{app['application_id']}", headers=ADMIN), 200
        )
        shown_tenant = answered(http.get(tenant_path, headers=ADMIN), 200)
        shown_user = answered(http.get(api_user_path, headers=ADMIN), 200)
        doomed_now = answered(
            http.post("/v1/token/introspect", data={"token": doomed}, headers=ADMIN), 200
        )
        kept_now = answered(
            http.post("/v1/token/introspect", data={"token": kept}, headers=ADMIN), 200
        )
        issued = answered(
            http.get(
                "/admin/v1/audit",
                params={"kind": "token.issued", "application_id": app["application_id"]},
                headers=ADMIN,
            ),
            200,
        )
        invalidations = answered(
            http.get(
                "/admin/v1/audit",
                params={"kind": "token.invalidated", "tenant_id": tenant["tenant_id"]},
                headers=ADMIN,
            ),
            200,
        )
        answered(http.post("/v1/token", data=form), 200)

    assert shown_app["client_id"] == app["client_id"]
    assert [a["name"] for a in shown_tenant["apps"]] == ["sdmo"]
    assert shown_user["enabled"] is True
    assert doomed_now == {"active": False}
    assert kept_now["active"] is True
    jtis = {jwt.decode(t, options={"verify_signature": False})["jti"] for t in (doomed, kept)}
    assert {e["detail"]["jti"] for e in issued} == jtis
    assert [e["detail"]["jti"] for e in invalidations] == [
        jwt.decode(doomed, options={"verify_signature": False})["jti"]
    ]
