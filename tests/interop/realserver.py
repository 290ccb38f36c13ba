"""The real tenantgate server in a subprocess, set up through its admin API as an operator
and a tenant admin would, for tests that talk to it as an integrator does."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypedDict

import httpx
import pytest

ADMIN_TOKEN = "tga_interop-admin-token"
APPS = ("sdmo", "shopfloor")
QUERIES = {
    "sdmo": "{ items(first: 3) { edges { node { code name } } } }",
    "shopfloor": "{ workOrders(first: 3) { edges { node { number status } } } }",
}
ROOTS = {"sdmo": "items", "shopfloor": "workOrders"}
START_TIMEOUT = 60.0
# Every test calls from 127.0.0.1: the default limit of 10 failures per address within a minute
# would let one test's wrong secrets turn another's requests into 429.
SHARED_SETTINGS = {"failure_limit": "1000"}
_SHARED = pytest.StashKey["RealServer"]()


class Credentials(TypedDict):
    """The keyword arguments of ``Client`` and ``AsyncClient``."""

    token_url: str
    client_id: str
    client_secret: str
    tenant_id: str


@dataclass(frozen=True)
class Integration:
    """An application accepted by a tenant whose apps are the in-process reference apps."""

    token_url: str
    application_id: str
    client_id: str
    client_secret: str
    tenant_id: str

    @property
    def scope(self) -> str:
        return f"tenantid:{self.tenant_id}"

    @property
    def credentials(self) -> Credentials:
        return {
            "token_url": self.token_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "tenant_id": self.tenant_id,
        }

    @property
    def env(self) -> dict[str, str]:
        """The environment variables of ``Client.from_env`` and the integrator CLI."""
        return {f"TENANTGATE_{key.upper()}": str(value) for key, value in self.credentials.items()}

    @property
    def form(self) -> dict[str, str]:
        """The client credentials grant, as a form (client_secret_post)."""
        return {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": self.scope,
        }

    def with_secret(self, client_secret: str) -> Integration:
        return replace(self, client_secret=client_secret)


@dataclass
class RealServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def token_url(self) -> str:
        return f"{self.url}/v1/token"

    def admin(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        return httpx.Client(base_url=f"{self.url}/admin/v1", headers=headers, timeout=10)

    def integration(self, apps: tuple[str, ...] = APPS, accepted: bool = True) -> Integration:
        """A new application, and a new tenant owning ``apps`` that has accepted it or not."""
        with self.admin() as admin:
            app = _created(admin.post("/applications", json={"name": "Interop integration"}))
            tenant = _created(
                admin.post(
                    "/tenants",
                    json={"name": "Interop tenant", "region": "eu", "cluster": "cluster-release"},
                )
            )
            for name in apps:
                url = f"{self.url}/refapps/{name}/graphql"
                put = admin.put(
                    f"/tenants/{tenant['tenant_id']}/apps/{name}", json={"graphql_url": url}
                )
                put.raise_for_status()
            if accepted:
                body = {"first_name": "Interop", "last_name": "Tests", "enabled": True}
                user = admin.put(
                    f"/tenants/{tenant['tenant_id']}/api-users/{app['application_id']}", json=body
                )
                user.raise_for_status()
        return Integration(
            self.token_url,
            app["application_id"],
            app["client_id"],
            app["client_secret"],
            tenant["tenant_id"],
        )

    def issued(self, integration: Integration) -> int:
        """How many tokens the server has issued to this application, by its audit trail."""
        params = {
            "application_id": integration.application_id,
            "kind": "token.issued",
            "limit": "1000",
        }
        with self.admin() as admin:
            response = admin.get("/audit", params=params)
        response.raise_for_status()
        return len(response.json())

    def introspect(self, access_token: str) -> dict[str, Any]:
        """RFC 7662 introspection, as the operator."""
        response = httpx.post(
            f"{self.url}/v1/token/introspect",
            data={"token": access_token},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=10,
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


def shared_server(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> RealServer:
    """One server for every test module of the session that asks for it, stopped at the end."""
    server: RealServer | None = config.stash.get(_SHARED, None)
    if server is None:
        server = start_server(tmp_path_factory.mktemp("tenantgate"), **SHARED_SETTINGS)
        config.add_cleanup(lambda: stop(server.process))
        config.stash[_SHARED] = server
    return server


@contextmanager
def running_server(workdir: Path, **settings: str) -> Iterator[RealServer]:
    """A server of its own, stopped when the block ends."""
    server = start_server(workdir, **settings)
    try:
        yield server
    finally:
        stop(server.process)


def start_server(workdir: Path, **settings: str) -> RealServer:
    """``uvicorn --factory tenantgate.app:create_app`` on a free port with a SQLite file in
    ``workdir``; ``settings`` are extra ``TENANTGATE_*`` variables, such as FAILURE_LIMIT."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "server.log"
    command = [sys.executable, "-m", "uvicorn", "--factory", "tenantgate.app:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=server_env(workdir, url, settings), stdout=out, stderr=subprocess.STDOUT
        )
    server = RealServer(url, process, log)
    _wait_until_up(server)
    return server


def server_env(workdir: Path, url: str, settings: Mapping[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TENANTGATE_")}
    env.update(
        TENANTGATE_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'tg.db'}",
        TENANTGATE_SECRET_KEY=secrets.token_urlsafe(32),
        TENANTGATE_ADMIN_TOKEN=ADMIN_TOKEN,
        TENANTGATE_DATA_DIR=str(workdir),
        TENANTGATE_PUBLIC_URL=url,
    )
    env.update({f"TENANTGATE_{key.upper()}": value for key, value in settings.items()})
    return env


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server by its PID: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(server: RealServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop(server.process)
    tail = server.log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"tenantgate did not start at {server.url}:\n{tail}")


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
