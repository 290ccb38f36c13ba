"""The fault-injection harness itself: the cluster freezes and stops, the proxy drops, resets,
delays and holds a COMMIT as it says, and a node starts and dies by its own PID."""

from __future__ import annotations

import asyncio
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from tests.conftest import PG_DSN
from tests.fault.harness import (
    FrontendParser,
    Node,
    PgCluster,
    TcpProxy,
    create_database,
    drop_database,
)

pytestmark = pytest.mark.slow

SHARED_HOST, SHARED_PORT = "127.0.0.1", 5432
CONNECTION_LOST = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)


def _state(pid: int) -> str:
    """The one-letter process state from /proc/<pid>/stat ('T' when stopped, 'X' when
    gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return "X"
    return stat[stat.rfind(")") + 2]


@pytest.fixture(scope="module")
def shared_db() -> Iterator[str]:
    """A database of this module on the shared server, with ``items(id, value)``."""
    name = f"harness_test_{uuid.uuid4().hex[:12]}"
    create_database(PG_DSN, name)

    async def schema() -> None:
        connection = await asyncpg.connect(_shared_dsn(name), timeout=5)
        try:
            await connection.execute(
                "CREATE TABLE items (id int PRIMARY KEY, value text NOT NULL);"
                "INSERT INTO items VALUES (1, 'old'), (2, 'old')"
            )
        finally:
            await connection.close()

    try:
        asyncio.run(schema())
        yield name
    finally:
        drop_database(PG_DSN, name)


def _shared_dsn(database: str) -> str:
    return f"{PG_DSN.rsplit('/', 1)[0]}/{database}"


@pytest.fixture
def proxy(make_proxy: Callable[[str, int], TcpProxy]) -> TcpProxy:
    return make_proxy(SHARED_HOST, SHARED_PORT)


# -- FrontendParser ---------------------------------------------------------------------------


def _typed(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("!I", len(payload) + 4) + payload


def test_parser_cuts_messages_whatever_the_chunking() -> None:
    ssl_request = struct.pack("!II", 8, 80877103)
    params = b"user\0pg\0\0"
    startup = struct.pack("!II", 8 + len(params), 196608) + params
    query = _typed(b"Q", b"SELECT 1\0")
    parse = _typed(b"P", b"stmt\0COMMIT\0\0\0")
    stream = ssl_request + startup + query + parse + query

    for size in (1, 3, 7, len(stream)):
        parser = FrontendParser()
        messages = []
        for start in range(0, len(stream), size):
            messages += parser.feed(stream[start : start + size])
        assert [m.kind for m in messages] == [b"", b"", b"Q", b"P", b"Q"]
        assert b"".join(m.raw for m in messages) == stream
        assert [m.sql for m in messages] == [None, None, "SELECT 1", "COMMIT", "SELECT 1"]


def test_parser_goes_opaque_on_tls() -> None:
    parser = FrontendParser()
    assert parser.feed(struct.pack("!II", 8, 80877103))[0].kind == b""
    hello = b"\x16\x03\x01\x00\x05hello"
    assert [m.raw for m in parser.feed(hello)] == [hello]
    assert parser.opaque


# -- PgCluster --------------------------------------------------------------------------------


async def _select_one(dsn: str, timeout: float = 5.0) -> int:
    connection = await asyncpg.connect(dsn, timeout=timeout)
    try:
        return int(await connection.fetchval("SELECT 1", timeout=timeout))
    finally:
        await connection.close(timeout=timeout)


async def test_cluster_freezes_thaws_stops_and_starts_again(pg_cluster: PgCluster) -> None:
    assert await _select_one(pg_cluster.dsn) == 1
    idle = await asyncpg.connect(pg_cluster.dsn, timeout=5)

    pg_cluster.freeze()
    try:
        assert len(pg_cluster.frozen_pids) > 1  # the postmaster and its children
        # SIGSTOP is delivered asynchronously: wait (bounded) until each one has stopped.
        deadline = time.monotonic() + 5
        while not all(_state(pid) in ("T", "Z", "X") for pid in pg_cluster.frozen_pids):
            assert time.monotonic() < deadline, "the cluster did not stop"
            await asyncio.sleep(0.01)
        with pytest.raises(TimeoutError):
            await asyncpg.connect(pg_cluster.dsn, timeout=1)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(idle.fetchval("SELECT 1"), 1)
    finally:
        frozen = pg_cluster.frozen_pids
        pg_cluster.thaw()
        idle.terminate()
    assert not any(_state(pid) == "T" for pid in frozen)
    assert await _select_one(pg_cluster.dsn) == 1

    pg_cluster.stop()
    assert pg_cluster.postmaster_pid() is None
    with pytest.raises(OSError):
        await asyncpg.connect(pg_cluster.dsn, timeout=2)

    pg_cluster.start()
    assert await _select_one(pg_cluster.dsn) == 1


def test_cluster_destroy_leaves_nothing_behind() -> None:
    with PgCluster() as cluster:
        root, postmaster = cluster.root, cluster.postmaster_pid()
        assert root is not None and postmaster is not None
        cluster.freeze()  # destroy must thaw before it can stop
    assert not root.exists()
    # Gone, or a zombie that this container's init has not reaped: not running either way.
    assert not Path(f"/proc/{postmaster}").exists() or _state(postmaster) in ("Z", "X")


# -- TcpProxy ---------------------------------------------------------------------------------


async def test_proxy_passes_queries_through(proxy: TcpProxy, shared_db: str) -> None:
    connection = await asyncpg.connect(proxy.dsn(shared_db), timeout=5)
    try:
        assert proxy.connections == 1
        assert await connection.fetchval("SELECT value FROM items WHERE id = $1", 1) == "old"
    finally:
        await connection.close()


async def test_blackhole_then_pass_through(proxy: TcpProxy, shared_db: str) -> None:
    connection = await asyncpg.connect(proxy.dsn(shared_db), timeout=5)
    proxy.blackhole()
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(connection.fetchval("SELECT 1"), 1)
        with pytest.raises(TimeoutError):
            await asyncpg.connect(proxy.dsn(shared_db), timeout=1)
    finally:
        connection.terminate()
    assert proxy.dropped > 0

    proxy.pass_through()
    assert await _select_one(proxy.dsn(shared_db)) == 1


async def test_blackholed_connections_are_closed_by_pass_through(
    proxy: TcpProxy, shared_db: str
) -> None:
    connection = await asyncpg.connect(proxy.dsn(shared_db), timeout=5)
    try:
        proxy.blackhole()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(connection.fetchval("SELECT 1"), 1)
        proxy.pass_through()
        with pytest.raises(CONNECTION_LOST):
            await asyncio.wait_for(connection.fetchval("SELECT 1"), 2)
    finally:
        connection.terminate()


async def test_reset_fails_connections_promptly(proxy: TcpProxy, shared_db: str) -> None:
    connection = await asyncpg.connect(proxy.dsn(shared_db), timeout=5)
    try:
        proxy.reset()
        started = time.monotonic()
        with pytest.raises(CONNECTION_LOST):
            await asyncio.wait_for(connection.fetchval("SELECT 1"), 2)
        assert time.monotonic() - started < 1.0
        with pytest.raises(CONNECTION_LOST):
            await asyncpg.connect(proxy.dsn(shared_db), timeout=2)
    finally:
        connection.terminate()
    assert proxy.resets >= 2

    proxy.pass_through()
    assert await _select_one(proxy.dsn(shared_db)) == 1


async def test_delay_adds_latency_both_ways(proxy: TcpProxy, shared_db: str) -> None:
    connection = await asyncpg.connect(proxy.dsn(shared_db), timeout=5)
    try:
        proxy.delay(0.2)
        started = time.monotonic()
        assert await connection.fetchval("SELECT 1", timeout=5) == 1
        assert time.monotonic() - started >= 0.39  # one chunk each way
    finally:
        proxy.pass_through()
        await connection.close()


async def test_hold_commit_holds_only_that_commit(proxy: TcpProxy, shared_db: str) -> None:
    direct = await asyncpg.connect(_shared_dsn(shared_db), timeout=5)
    held_connection = await asyncpg.connect(proxy.dsn(shared_db), timeout=5)
    other = await asyncpg.connect(proxy.dsn(shared_db), timeout=5)
    try:
        await direct.execute("UPDATE items SET value = 'old' WHERE id = 1")
        held = proxy.hold_commit(b"UPDATE items", 1.0)

        async def transaction() -> float:
            async with held_connection.transaction():
                await held_connection.execute("UPDATE items SET value = 'new' WHERE id = 1")
            return time.monotonic()

        started = time.monotonic()
        committing = asyncio.create_task(transaction())
        assert await asyncio.to_thread(held.wait_held, 5)

        before = time.monotonic()
        assert await other.fetchval("SELECT 1", timeout=5) == 1
        assert time.monotonic() - before < 0.3  # other connections flow normally
        value_while_held = await direct.fetchval("SELECT value FROM items WHERE id = 1")
        looked_at = time.monotonic()

        committed_at = await asyncio.wait_for(committing, 5)
        assert held.wait_released(0)
        assert held.released_at is not None
        assert looked_at < held.released_at <= committed_at
        assert value_while_held == "old"
        assert committed_at - started >= 0.9
        assert await direct.fetchval("SELECT value FROM items WHERE id = 1") == "new"

        started = time.monotonic()  # one-shot: the next COMMIT goes straight through
        await transaction()
        assert time.monotonic() - started < 0.5
    finally:
        for connection in (direct, held_connection, other):
            await connection.close(timeout=5)


async def test_hold_commit_catches_sqlalchemy_commits(proxy: TcpProxy, shared_db: str) -> None:
    engine = create_async_engine(proxy.sqlalchemy_url(shared_db))
    try:
        held = proxy.hold_commit(b"UPDATE items", 0.5)
        started = time.monotonic()
        async with async_sessionmaker(engine).begin() as session:
            await session.execute(text("UPDATE items SET value = 'sqla' WHERE id = 2"))
        assert time.monotonic() - started >= 0.45
        assert held.released_at is not None
    finally:
        await engine.dispose()


def test_stop_closes_every_connection(shared_db: str) -> None:
    proxy = TcpProxy(SHARED_HOST, SHARED_PORT).start()

    async def scenario() -> None:
        connection = await asyncpg.connect(proxy.dsn(shared_db), timeout=5)
        try:
            assert proxy.connections == 1
            await asyncio.to_thread(proxy.stop)
            assert proxy.connections == 0
            with pytest.raises(CONNECTION_LOST):
                await asyncio.wait_for(connection.fetchval("SELECT 1"), 2)
        finally:
            connection.terminate()

    try:
        asyncio.run(scenario())
    finally:
        proxy.stop()


# -- Node -------------------------------------------------------------------------------------


def test_node_starts_answers_and_dies_by_its_pid(
    pg_cluster: PgCluster, make_node: Callable[..., Node]
) -> None:
    database = f"node_{uuid.uuid4().hex[:8]}"
    pg_cluster.create_database(database)
    node = make_node(pg_cluster.sqlalchemy_url(database), change_poll_interval="0.2")
    assert node.env["TENANTGATE_CHANGE_POLL_INTERVAL"] == "0.2"
    assert node.env["TENANTGATE_REFAPPS"] == "false"
    with node.client() as http:
        assert http.get("/healthz").status_code == 200
    assert node.terminate().wait(15) is not None

    node.start()
    node.kill()
    assert node.wait(5) == -9
    assert "Uvicorn running" in node.log_text() or node.log_text()
