"""Several nodes on one PostgreSQL of the test's own, one of them (A) reaching it through a TCP
proxy that can hold a COMMIT, drop or reset its traffic; the cluster itself may be stopped or
frozen. What must hold whatever happens: no node serves a permission withdrawn elsewhere for
longer than the staleness bound, every request that needs the database answers within the
database timeout plus a second, nothing answered 2xx is lost, and everything recovers by itself
within two seconds of the database coming back."""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.fault.harness import Node, PgCluster, TcpProxy, run_async
from tests.gateway.upstream import serve_echo

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
STALENESS = 2.0
DB_TIMEOUT = 2.0
POLL = 0.2
QUERY = {"query": "{ items { id } }"}


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    with serve_echo() as url:
        yield url


@pytest.fixture
def database(pg_cluster: PgCluster) -> Iterator[str]:
    name = f"fault_{uuid.uuid4().hex[:10]}"
    if pg_cluster.frozen:
        pg_cluster.thaw()
    if pg_cluster.postmaster_pid() is None:
        pg_cluster.start()
    pg_cluster.create_database(name)
    yield name
    if pg_cluster.frozen:
        pg_cluster.thaw()
    if pg_cluster.postmaster_pid() is None:
        pg_cluster.start()
    pg_cluster.drop_database(name)


@dataclass
class Deployment:
    """Node A through the proxy, nodes B (and C) straight to the database."""

    cluster: PgCluster
    database: str
    proxy: TcpProxy
    a: Node
    b: Node
    c: Node | None


def node_settings(**overrides: object) -> dict[str, object]:
    settings: dict[str, object] = {
        "max_staleness": STALENESS,
        "database_timeout": DB_TIMEOUT,
        "change_poll_interval": POLL,
        "shutdown_timeout": 5,
    }
    settings.update(overrides)
    return settings


@pytest.fixture
def deploy(
    pg_cluster: PgCluster,
    database: str,
    make_proxy: Callable[[str, int], TcpProxy],
    make_node: Callable[..., Node],
) -> Callable[..., Deployment]:
    def make(three: bool = False, a: dict[str, object] | None = None) -> Deployment:
        proxy = make_proxy("127.0.0.1", pg_cluster.port)
        direct = pg_cluster.sqlalchemy_url(database)
        node_a = make_node(proxy.sqlalchemy_url(database), **node_settings(**(a or {})))
        node_b = make_node(direct, **node_settings())
        node_c = make_node(direct, **node_settings()) if three else None
        return Deployment(pg_cluster, database, proxy, node_a, node_b, node_c)

    return make


# steps of a test


@dataclass
class Access:
    tenant_id: str
    application_id: str
    form: dict[str, str]


def accepted(node: Node, upstream: str) -> Access:
    with node.client() as http:
        app = http.post("/admin/v1/applications", json={"name": "Faults"}, headers=ADMIN)
        assert app.status_code == 201, app.text
        body = {"name": "Tenant", "region": "eu", "cluster": "c1"}
        tenant = http.post("/admin/v1/tenants", json=body, headers=ADMIN).json()
        put = http.put(
            f"/admin/v1/tenants/{tenant['tenant_id']}/apps/sdmo",
            json={"graphql_url": upstream},
            headers=ADMIN,
        )
        assert put.status_code == 201, put.text
        accept = http.put(
            f"/admin/v1/tenants/{tenant['tenant_id']}/api-users/{app.json()['application_id']}",
            json={"first_name": "Api", "last_name": "User", "enabled": True},
            headers=ADMIN,
        )
        assert accept.status_code == 201, accept.text
    form = {
        "grant_type": "client_credentials",
        "client_id": app.json()["client_id"],
        "client_secret": app.json()["client_secret"],
        "scope": f"tenantid:{tenant['tenant_id']}",
    }
    return Access(tenant["tenant_id"], app.json()["application_id"], form)


def issue(node: Node, access: Access) -> str:
    with node.client() as http:
        response = http.post("/v1/token", data=access.form)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def gateway(node: Node, token: str, timeout: float = 5.0) -> int:
    with node.client(timeout) as http:
        response = http.post(
            "/v1/fwd/c1/sdmo/api", json=QUERY, headers={"Authorization": f"Bearer {token}"}
        )
    if response.status_code == 503:
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
        assert response.headers["retry-after"]
    return response.status_code


def set_enabled(node: Node, access: Access, enabled: bool, timeout: float = 30.0) -> int:
    with node.client(timeout) as http:
        response = http.put(
            f"/admin/v1/tenants/{access.tenant_id}/api-users/{access.application_id}",
            json={"first_name": "Api", "last_name": "User", "enabled": enabled},
            headers=ADMIN,
        )
    return response.status_code


def until(check: Callable[[], bool], within: float, every: float = 0.02) -> float:
    """Seconds until ``check()`` holds; fails after ``within``."""
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() - start > within:
            raise AssertionError(f"not within {within} s")
        time.sleep(every)


def holds(check: Callable[[], bool], during: float, every: float = 0.05) -> None:
    end = time.monotonic() + during
    while time.monotonic() < end:
        assert check()
        time.sleep(every)


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.monotonic()
    result = call()
    return result, time.monotonic() - start


def token_refused(node: Node, access: Access) -> bool:
    with node.client() as http:
        response = http.post("/v1/token", data=access.form)
    return response.status_code == 403 and response.json()["error"] == "access_denied"


def ready(node: Node) -> bool:
    with node.client(2.0) as http:
        try:
            return http.get("/readyz").status_code == 200
        except httpx.TransportError:
            return False


def revoked_in_database(deployment: Deployment, tokens: list[str]) -> int:
    """How many of ``tokens`` (by their jti) the database holds as invalidated."""
    import jwt

    jtis = [jwt.decode(t, options={"verify_signature": False})["jti"] for t in tokens]

    async def count() -> int:
        connection = await asyncpg.connect(deployment.cluster.dsn_for(deployment.database))
        try:
            found = await connection.fetchval(
                "SELECT count(*) FROM revoked_tokens WHERE jti = ANY($1)", jtis
            )
            return int(found)
        finally:
            await connection.close()

    return run_async(count)


def invalidate(node: Node, token: str, timeout: float = 10.0) -> int:
    with node.client(timeout) as http:
        return http.delete("/v1/token", headers={"x-tokens": f"accessToken={token}"}).status_code


# the late commit


def test_a_disable_whose_commit_lands_late_is_refused_on_every_node(deploy, echo_url):
    d = deploy(three=True, a={"database_timeout": 15})
    access = accepted(d.a, f"{echo_url}/echo/late")
    token = issue(d.b, access)
    for node in (d.b, d.c):
        until(lambda node=node: gateway(node, token) == 200, within=2)

    held = d.proxy.hold_commit(b"UPDATE api_users", seconds=8)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        disabling = pool.submit(set_enabled, d.a, access, False)
        assert held.wait_held(5), "the disable's COMMIT was not caught"
        # Later changes commit, and are read, while the disable is held.
        later = accepted(d.b, f"{echo_url}/echo/later")
        assert issue(d.c, later)
        for node in (d.b, d.c):
            assert gateway(node, token) == 200  # not committed yet: still allowed
        assert held.wait_released(12)
        for node in (d.b, d.c):
            assert node is not None
            until(lambda node=node: gateway(node, token) == 401, within=1.5)
            until(lambda node=node: token_refused(node, access), within=1.5)
        landed = time.monotonic() - (held.released_at or 0)
        assert landed < 2.0, f"refused {landed:.2f} s after the commit was let through"
        assert disabling.result(timeout=15) == 200
    for node in (d.a, d.b, d.c):
        assert node is not None
        holds(lambda node=node: gateway(node, token) == 401, during=1.0)


# a node cut off from the database


@pytest.mark.parametrize("fault", ["blackhole", "reset"])
def test_a_node_cut_off_refuses_within_the_bound_and_recovers(deploy, echo_url, fault):
    d = deploy()
    access = accepted(d.b, f"{echo_url}/echo/cut")
    token = issue(d.a, access)
    spare = [issue(d.b, access) for _ in range(3)]
    until(lambda: gateway(d.a, token) == 200, within=2)

    getattr(d.proxy, fault)()
    cut = time.monotonic()
    assert set_enabled(d.b, access, False) == 200  # withdrawn elsewhere
    # The cut-off node stops answering from memory within the bound...
    until(lambda: gateway(d.a, token, timeout=3) == 503, within=STALENESS + 1.5)
    assert time.monotonic() - cut < STALENESS + POLL + 1.0
    holds(lambda: gateway(d.a, token, timeout=3) == 503, during=1.0)
    assert not ready(d.a)
    # ...and every request that needs the database answers within its timeout plus a second.
    for call in (
        lambda: invalidate(d.a, spare[0]),
        lambda: http_status(d.a, "post", "/v1/token", data=access.form),
        lambda: http_status(d.a, "get", "/admin/v1/tenants", headers=ADMIN),
        lambda: http_status(d.a, "get", "/console/sign-in"),
    ):
        status, seconds = timed(call)
        assert status in (503, 200), status
        assert seconds < DB_TIMEOUT + 1.0, f"{seconds:.2f} s"
    assert http_status(d.a, "get", "/healthz") == 200

    d.proxy.pass_through()
    back = time.monotonic()
    until(lambda: ready(d.a), within=2.0)
    until(lambda: gateway(d.a, token) == 401, within=0.5)  # the disable, learned on return
    assert set_enabled(d.b, access, True) == 200
    until(lambda: issue_status(d.a, access) == 200, within=2.0)
    assert time.monotonic() - back < 4.0
    assert invalidate(d.a, spare[1]) == 204
    assert revoked_in_database(d, [spare[1]]) == 1


def http_status(node: Node, method: str, path: str, **kwargs: Any) -> int:
    with node.client(10.0) as http:
        return getattr(http, method)(path, **kwargs).status_code


def issue_status(node: Node, access: Access) -> int:
    return http_status(node, "post", "/v1/token", data=access.form)


# the database itself stopped or frozen


@pytest.mark.parametrize("fault", ["stop", "freeze"])
def test_every_node_refuses_while_the_database_is_gone_and_recovers(deploy, echo_url, fault):
    d = deploy()
    access = accepted(d.b, f"{echo_url}/echo/gone")
    token = issue(d.a, access)
    answered = [issue(d.b, access) for _ in range(3)]
    invalidated = answered[:1]
    assert invalidate(d.b, invalidated[0]) == 204
    for node in (d.a, d.b):
        until(lambda node=node: gateway(node, token) == 200, within=2)

    if fault == "stop":
        d.cluster.stop("immediate")
    else:
        d.cluster.freeze()
    gone = time.monotonic()
    try:
        for node in (d.a, d.b):
            status, seconds = timed(lambda node=node: issue_status(node, access))
            assert status == 503 and seconds < DB_TIMEOUT + 1.0, (status, seconds)
            status, seconds = timed(lambda node=node: invalidate(node, answered[1]))
            assert status == 503 and seconds < DB_TIMEOUT + 1.0, (status, seconds)
            status, seconds = timed(
                lambda node=node: http_status(node, "get", "/admin/v1/tenants", headers=ADMIN)
            )
            assert status == 503 and seconds < DB_TIMEOUT + 1.0, (status, seconds)
        for node in (d.a, d.b):
            until(lambda node=node: gateway(node, token, timeout=3) == 503, within=STALENESS + 1)
        assert time.monotonic() - gone < 2 * STALENESS + 3 * (DB_TIMEOUT + 1)
    finally:
        if fault == "stop":
            d.cluster.start()
        else:
            d.cluster.thaw()
    for node in (d.a, d.b):
        until(lambda node=node: ready(node), within=2.0)
        until(lambda node=node: issue_status(node, access) == 200, within=2.0)
        assert gateway(node, token) == 200
    # What was answered 2xx before the outage is there; the 503 answered during it may or may
    # not have been committed, and either way the token can be invalidated again.
    assert revoked_in_database(d, invalidated) == 1
    assert invalidate(d.a, answered[1]) == 204
    assert revoked_in_database(d, answered[1:2]) == 1


# a node killed, a node stopped


def test_a_node_killed_under_load_loses_nothing_and_catches_up(deploy, echo_url):
    d = deploy()
    access = accepted(d.a, f"{echo_url}/echo/kill")
    tokens = [issue(d.b, access) for _ in range(30)]
    invalidated: list[str] = []

    def load() -> None:
        with d.b.client(5.0) as http:
            for token in tokens:
                try:
                    answer = http.delete("/v1/token", headers={"x-tokens": f"accessToken={token}"})
                except httpx.TransportError:
                    return
                if answer.status_code == 204:
                    invalidated.append(token)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(load)
        until(lambda: len(invalidated) >= 5, within=10)
        d.b.kill()
        running.result(timeout=10)
    assert revoked_in_database(d, invalidated) == len(invalidated)
    # While B is down, A disables the API user; B learns it at start.
    assert set_enabled(d.a, access, False) == 200
    d.b.start()
    fresh = [t for t in tokens if t not in invalidated]
    assert all(gateway(d.b, t) == 401 for t in fresh[:3] + invalidated[:3])
    assert token_refused(d.b, access)


def test_sigterm_lets_requests_in_flight_finish_then_exits(deploy, echo_url):
    d = deploy()
    access = accepted(d.b, f"{echo_url}/sleep/1.5")
    token = issue(d.a, access)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        in_flight = pool.submit(gateway, d.a, token, 10.0)
        time.sleep(0.5)
        d.a.terminate()
        assert in_flight.result(timeout=10) == 200
        assert d.a.wait(timeout=5) == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{d.a.base_url}/healthz", timeout=1)


def test_a_second_sigterm_ends_the_node_at_once(deploy, echo_url):
    d = deploy()
    access = accepted(d.b, f"{echo_url}/sleep/8")
    token = issue(d.a, access)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(lambda: _status_or_error(d.a, token))
        time.sleep(0.5)
        d.a.terminate()
        time.sleep(0.5)
        assert d.a.alive  # still draining
        start = time.monotonic()
        d.a.terminate()
        d.a.wait(timeout=3)
        assert time.monotonic() - start < 3
        assert in_flight.result(timeout=10) != 200


def _status_or_error(node: Node, token: str) -> int | str:
    try:
        return gateway(node, token, timeout=15)
    except httpx.TransportError as error:
        return type(error).__name__
