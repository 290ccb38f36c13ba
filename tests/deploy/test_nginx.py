"""Three nodes behind nginx, configured by the documented ``deploy/nginx.conf`` (its servers and
listen address rewritten to loopback): tokens, the gateway and a WebSocket subscription work
through it; the audit trail shows the real caller's address, not nginx's and not one the caller
forged; a node that is not current is taken out while token requests keep being served.

The caller connects from 127.0.0.2 (any 127/8 address is the loopback), nginx from 127.0.0.1,
which is the only proxy the nodes trust."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.conftest import ADMIN_TOKEN, PG_DSN
from tests.fault.harness import Node, TcpProxy, create_database, drop_database, free_port, run_async

pytestmark = pytest.mark.slow

NGINX = Path("/usr/sbin/nginx")
CONF = Path(__file__).parents[2] / "deploy" / "nginx.conf"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CALLER = "127.0.0.2"
FORGED = "198.51.100.66"
STALENESS = 1.0
STOCK_CHANGED = "subscription { stockChanged { itemId quantity delta } }"
ORDER_SETUP = "{ sites { id } customers(first: 1) { edges { node { id } } } }"
LEVELS = "query L($siteId: ID) { stockLevels(siteId: $siteId) { itemId quantity } }"
CREATE_ORDER = (
    "mutation O($input: CreateSalesOrderInput!) { createSalesOrder(input: $input) { id } }"
)

if not NGINX.exists():  # pragma: no cover - .ci/run installs nginx-light
    pytest.skip("Debian's nginx is not installed", allow_module_level=True)


def nginx_conf(folder: Path, port: int, nodes: list[int]) -> Path:
    """The documented file, with its servers and listen address rewritten, in a minimal main
    configuration of the test's own (pid, logs and temp folders in ``folder``)."""
    site = CONF.read_text()
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in nodes)
    site, count = re.subn(
        r"(?m)^    server 10\.0\.0\.\d+:8000 .*;\n(?:    server 10.*\n)*", servers + "\n", site
    )
    assert count == 1, "deploy/nginx.conf no longer lists its servers as the test expects"
    site, count = re.subn(r"(?m)^    listen 80;$", f"    listen 127.0.0.1:{port};", site)
    assert count == 1
    (folder / "tenantgate.conf").write_text(site)
    main = folder / "nginx.conf"
    main.write_text(
        f"""worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format upstreams '$request_method $uri $status $upstream_addr $upstream_status';
    access_log {folder}/access.log upstreams;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/tenantgate.conf;
}}
"""
    )
    return main


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


class Process:
    """A process of the test's own, ended by its PID."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env
            )

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


@pytest.fixture
def database() -> Iterator[str]:
    name = f"nginx_{uuid.uuid4().hex[:10]}"
    create_database(PG_DSN, name)
    yield name
    drop_database(PG_DSN, name)


class Deployment:
    def __init__(
        self, nodes: list[Node], proxy: TcpProxy, url: str, refapp: str, folder: Path
    ) -> None:
        self.nodes, self.proxy, self.url, self.refapp = nodes, proxy, url, refapp
        self.folder = folder


@pytest.fixture
def deployment(
    tmp_path: Path,
    database: str,
    make_node: Callable[..., Node],
    make_proxy: Callable[[str, int], TcpProxy],
) -> Iterator[Deployment]:
    """Nodes A and B straight to PostgreSQL, C through a TCP proxy (to cut it off), nginx in
    front, and one sdmo reference app that every node forwards to."""
    direct = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
    proxy = make_proxy("127.0.0.1", 5432)
    env = {"trusted_proxies": "127.0.0.1", "max_staleness": STALENESS, "change_poll_interval": 0.2}
    nodes = [make_node(direct, **env), make_node(direct, **env)]
    nodes.append(make_node(proxy.sqlalchemy_url(database), **env))
    port, refapp_port = free_port(), free_port()
    processes: list[Process] = []
    try:
        refapp_argv = [sys.executable, "-c", "from tenantgate.cli.main import main; main()"]
        refapp_argv += ["refapp", "serve", "sdmo", "--port", str(refapp_port)]
        refapp_argv += ["--jwks-url", f"{nodes[0].base_url}/.well-known/jwks.json"]
        processes.append(Process(refapp_argv, tmp_path / "refapp.log"))
        folder = tmp_path / "nginx"
        folder.mkdir()
        os.chmod(folder, 0o777)  # nginx's worker runs as www-data
        conf = nginx_conf(folder, port, [n.port for n in nodes])
        processes.append(
            Process(
                [str(NGINX), "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")],
                folder / "stderr.log",
            )
        )
        wait_http(f"http://127.0.0.1:{refapp_port}/healthz")
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield Deployment(
            nodes,
            proxy,
            f"http://127.0.0.1:{port}",
            f"http://127.0.0.1:{refapp_port}/graphql",
            folder,
        )
    finally:
        for process in processes:
            process.stop()
        if os.environ.get("TENANTGATE_KEEP_NGINX_LOGS"):
            shutil.copytree(tmp_path, Path("/tmp") / f"nginx-test-{uuid.uuid4().hex[:6]}")


def caller(base_url: str) -> httpx.AsyncClient:
    """An HTTP client connecting from the caller's own loopback address, never through an
    environment proxy."""
    transport = httpx.AsyncHTTPTransport(local_address=CALLER)
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=10.0, trust_env=False)


async def accepted(http: httpx.AsyncClient, refapp: str) -> dict[str, str]:
    app = (
        await http.post("/admin/v1/applications", json={"name": "Behind nginx"}, headers=ADMIN)
    ).json()
    body = {"name": "Tenant", "region": "eu", "cluster": "c1"}
    tenant = (await http.post("/admin/v1/tenants", json=body, headers=ADMIN)).json()
    put = await http.put(
        f"/admin/v1/tenants/{tenant['tenant_id']}/apps/sdmo",
        json={"graphql_url": refapp},
        headers=ADMIN,
    )
    assert put.status_code == 201, put.text
    accept = await http.put(
        f"/admin/v1/tenants/{tenant['tenant_id']}/api-users/{app['application_id']}",
        json={"first_name": "Api", "last_name": "User", "enabled": True},
        headers=ADMIN,
    )
    assert accept.status_code == 201, accept.text
    return {
        "grant_type": "client_credentials",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "scope": f"tenantid:{tenant['tenant_id']}",
        "application_id": app["application_id"],
    }


async def everywhere(deployment: Deployment, form: dict[str, str]) -> None:
    """Until every node has the acceptance (made on one of them, read by the others from the
    change feed within milliseconds): a load balancer gives no read-your-writes."""
    deadline = time.monotonic() + 5
    for node in deployment.nodes:
        async with httpx.AsyncClient(base_url=node.base_url, trust_env=False) as direct:
            while (await direct.post("/v1/token", data=form)).status_code != 200:
                assert time.monotonic() < deadline, f"node {node.port} never saw the acceptance"
                await asyncio.sleep(0.02)


async def graphql(
    http: httpx.AsyncClient,
    url: str,
    token: str,
    query: str,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    response = await http.post(
        url,
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


async def order(http: httpx.AsyncClient, url: str, token: str) -> None:
    setup = await graphql(http, url, token, ORDER_SETUP)
    site = setup["sites"][0]["id"]
    levels = (await graphql(http, url, token, LEVELS, {"siteId": site}))["stockLevels"]
    item = max(levels, key=lambda level: level["quantity"])["itemId"]
    customer = setup["customers"]["edges"][0]["node"]["id"]
    line = {"itemId": item, "quantity": 1}
    await graphql(
        http,
        url,
        token,
        CREATE_ORDER,
        {"input": {"customerId": customer, "siteId": site, "lines": [line]}},
    )


def test_tokens_the_gateway_and_a_subscription_through_nginx(deployment: Deployment) -> None:
    async def scenario() -> None:
        async with caller(deployment.url) as http:
            form = await accepted(http, deployment.refapp)
            application_id = form.pop("application_id")
            await everywhere(deployment, form)
            answers = [
                await http.post("/v1/token", data=form, headers={"X-Forwarded-For": FORGED})
                for _ in range(9)
            ]
            assert [a.status_code for a in answers] == [200] * 9, answers[0].text
            token = answers[0].json()["access_token"]
            url = answers[0].json()["urls"]["apps"]["sdmo"]["graphQL"]
            assert url.startswith(deployment.url + "/"), url  # through nginx, from its Host

            sites = await graphql(http, url, token, ORDER_SETUP)
            assert sites["sites"]

            ws_url = deployment.url.replace("http://", "ws://") + "/v1/ws"
            async with connect(
                ws_url,
                subprotocols=["graphql-transport-ws"],
                proxy=None,
                local_addr=(CALLER, 0),
                open_timeout=5,
            ) as ws:  # type: ignore[list-item]
                await ws.send(
                    json.dumps(
                        {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                    )
                )
                assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {
                    "type": "connection_ack"
                }
                subscribe = {"query": STOCK_CHANGED, "extensions": {"app": "sdmo"}}
                await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
                event = None
                for _ in range(20):  # the subscription starts asynchronously: order until live
                    await order(http, url, token)
                    try:
                        event = json.loads(await asyncio.wait_for(ws.recv(), 0.3))
                        break
                    except TimeoutError:
                        continue
                assert event is not None and event["type"] == "next", event
                assert event["payload"]["data"]["stockChanged"]["delta"] == -1

            audit = await http.get(
                "/admin/v1/audit",
                params={"application_id": application_id, "kind": "token.issued"},
                headers=ADMIN,
            )
            addresses = sorted(e["detail"]["address"] for e in audit.json())
            # nine through nginx, from the caller; one straight to each node by everywhere()
            assert addresses == ["127.0.0.1"] * 3 + [CALLER] * 9

    run_async(scenario, timeout=120)


def test_a_node_that_is_not_current_is_taken_out(deployment: Deployment) -> None:
    async def scenario() -> None:
        async with caller(deployment.url) as http:
            form = await accepted(http, deployment.refapp)
            form.pop("application_id")
            await everywhere(deployment, form)
            deployment.proxy.blackhole()  # node C can no longer read the change feed
            stale = deployment.nodes[2]
            async with httpx.AsyncClient(
                base_url=stale.base_url, timeout=10, trust_env=False
            ) as direct:
                deadline = time.monotonic() + STALENESS + 3
                while (await direct.get("/readyz")).status_code != 503:
                    assert time.monotonic() < deadline, "node C never reported not ready"
                    await asyncio.sleep(0.1)
                refused = await direct.post("/v1/token", data=form)
                assert refused.status_code == 503

            log = deployment.folder / "access.log"
            logged = len(log.read_text().splitlines())
            started = time.monotonic()
            answers = [(await http.post("/v1/token", data=form)).status_code for _ in range(30)]
            elapsed = time.monotonic() - started
            assert answers == [200] * 30
            tried = " ".join(log.read_text().splitlines()[logged:])
            # C is tried, answers 503 (the request goes on to another node), and is left out
            # for fail_timeout (5 s) after each such answer
            assert 1 <= tried.count(f"127.0.0.1:{stale.port}") <= 1 + elapsed // 5, tried
            token = (await http.post("/v1/token", data=form)).json()["access_token"]
            gets = [
                (
                    await http.delete("/v1/token", headers={"x-tokens": f"accessToken={token}"})
                ).status_code
                for _ in range(3)
            ]
            assert gets == [204] * 3
            deployment.proxy.pass_through()

    run_async(scenario, timeout=120)
