"""Change-feed fan-out: three nodes on one PostgreSQL, a fixed rate of invalidations sent
round-robin to them, and probes that measure when each *other* node first refuses the token.

    python bench/fanout.py --rates 100,300,1000 --duration 10

For each rate it prints the achieved rate, propagation p50/p99/max (from the 204 of the DELETE
to the first `{"active": false}` of another node's introspection, which reads memory only), lost
probes, the change-feed notifications and applied changes per node, and the database's
committed transactions per second per node. "Growing lag" compares the median propagation of
the first and last third of the phase. The baseline of the same run is the round trip of one
introspection (`probe rtt`), the resolution the probes can measure at. Everything runs on
127.0.0.1 and stops by itself; processes are stopped by PID."""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).parent))
from harness import Processes, free_port, wait_port

SHARED = "postgresql://postgres@127.0.0.1:5432/postgres"
ADMIN_TOKEN = "tga_bench-fanout-admin"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NODES = 3
GIVE_UP = 10.0


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def _metric(http: httpx.AsyncClient, name: str) -> float:
    text = (await http.get("/metrics", headers=ADMIN)).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


async def _xact_commit(dsn: str, database: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        value = await connection.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", database
        )
        return int(value)
    finally:
        await connection.close()


async def _setup(http: httpx.AsyncClient) -> dict[str, str]:
    app = (await http.post("/admin/v1/applications", json={"name": "fanout"}, headers=ADMIN)).json()
    body = {"name": "Fanout", "region": "eu", "cluster": "c1"}
    tenant = (await http.post("/admin/v1/tenants", json=body, headers=ADMIN)).json()
    accepted = await http.put(
        f"/admin/v1/tenants/{tenant['tenant_id']}/api-users/{app['application_id']}",
        json={"first_name": "A", "last_name": "B", "enabled": True},
        headers=ADMIN,
    )
    assert accepted.status_code == 201, accepted.text
    return {
        "grant_type": "client_credentials",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "scope": f"tenantid:{tenant['tenant_id']}",
    }


async def _tokens(clients: list[httpx.AsyncClient], form: dict[str, str], count: int) -> list[str]:
    semaphore = asyncio.Semaphore(16)

    async def one(i: int) -> str:
        async with semaphore:
            answer = await clients[i % len(clients)].post("/v1/token", data=form)
            assert answer.status_code == 200, answer.text
            return str(answer.json()["access_token"])

    return await asyncio.gather(*(one(i) for i in range(count)))


class Connection:
    """One keep-alive HTTP/1.1 connection, one request at a time. A bare client on purpose:
    httpx costs about a millisecond of CPU a request, so two load processes could not send
    1,000 requests/s and probe them on this 2-core machine beside three nodes."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection("127.0.0.1", self._port)
        reader, writer = self._streams
        writer.write(head + body)
        header = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in header.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return int(header[9:12]), (await reader.readexactly(length) if length else b"")

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()


class Node:
    """Connections to one node, opened as needed and reused."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._idle: list[Connection] = []

    async def request(self, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
        reused = bool(self._idle)
        connection = self._idle.pop() if reused else Connection(self._port)
        try:
            answer = await connection.request(head, body)
        except (asyncio.IncompleteReadError, ConnectionError):
            connection.close()
            if not reused:
                raise
            # The server closed an idle keep-alive connection: both requests sent are
            # idempotent, so one more try on a new connection, as HTTP clients do.
            connection = Connection(self._port)
            answer = await connection.request(head, body)
        self._idle.append(connection)
        return answer

    async def delete(self, token: str) -> int:
        head = f"DELETE /v1/token HTTP/1.1\r\nhost: n\r\nx-tokens: accessToken={token}\r\n\r\n"
        return (await self.request(head.encode()))[0]

    async def inactive(self, token: str) -> bool:
        body = f"token={token}".encode()
        head = (
            "POST /v1/token/introspect HTTP/1.1\r\nhost: n\r\n"
            f"authorization: Bearer {ADMIN_TOKEN}\r\n"
            "content-type: application/x-www-form-urlencoded\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        )
        status, answer = await self.request(head.encode(), body)
        return status == 200 and json.loads(answer)["active"] is False

    def close(self) -> None:
        for connection in self._idle:
            connection.close()


async def _probe(node: Node, token: str, since: float) -> float | None:
    """Seconds from ``since`` until ``node`` reports the token inactive; None if lost."""
    while time.perf_counter() - since < GIVE_UP:
        if await node.inactive(token):
            return time.perf_counter() - since
        await asyncio.sleep(0.01)
    return None


async def _load(
    ports: list[int], tokens: list[str], rate: float, duration: float, probes: float, at: float
) -> dict[str, Any]:
    """One load process's share: ``rate`` invalidations/s from wall-clock time ``at``, a
    probed one every ``rate / probes``."""
    nodes = [Node(p) for p in ports]
    count = int(rate * duration)
    probe_every = max(1, round(rate / max(probes, 0.1)))
    samples: list[tuple[float, float | None]] = []  # (offset in the phase, propagation)
    tasks: list[asyncio.Task[None]] = []
    sent = failed = 0
    late = last_done = 0.0
    await asyncio.sleep(max(0.0, at - time.time()))
    start = time.perf_counter()

    async def invalidate(i: int, token: str) -> None:
        nonlocal sent, failed, last_done
        node = i % len(nodes)
        status = await nodes[node].delete(token)
        done = time.perf_counter()
        last_done = max(last_done, done - start)
        if status != 204:
            failed += 1
            return
        sent += 1
        if i % probe_every == 0:
            others = [n for k, n in enumerate(nodes) if k != node]
            found = await asyncio.gather(*(_probe(n, token, done) for n in others))
            samples.extend((done - start, f) for f in found)

    try:
        for i in range(count):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                late = max(late, -delay)
            tasks.append(asyncio.create_task(invalidate(i, tokens[i])))
        await asyncio.gather(*tasks)
    finally:
        for node in nodes:
            node.close()
    elapsed = time.perf_counter() - start
    return {
        "sent": sent,
        "failed": failed,
        "samples": samples,
        "seconds": elapsed,
        "sending": last_done,
        "late": late,
    }


def _load_process(*args: Any) -> dict[str, Any]:
    return asyncio.run(_load(*args))


async def _phase(
    ports: list[int], tokens: list[str], rate: int, duration: float, probes: int, loaders: int
) -> dict[str, Any]:
    """The load split over ``loaders`` processes (one Python client process cannot send
    1,000 requests/s and probe them on this machine), started at the same instant."""
    at = time.time() + 1.0
    loop = asyncio.get_running_loop()
    with concurrent.futures.ProcessPoolExecutor(loaders) as pool:
        parts = await asyncio.gather(
            *(
                loop.run_in_executor(
                    pool,
                    _load_process,
                    ports,
                    tokens[j::loaders],
                    rate / loaders,
                    duration,
                    probes / loaders,
                    at,
                )
                for j in range(loaders)
            )
        )
    samples = [sample for part in parts for sample in part["samples"]]
    elapsed = max(part["seconds"] for part in parts)
    sent = sum(part["sent"] for part in parts)
    sending = max(part["sending"] for part in parts)
    seen = [(t, p) for t, p in samples if p is not None]
    thirds = [
        [p for t, p in seen if t < duration / 3],
        [p for t, p in seen if t >= 2 * duration / 3],
    ]
    ms = [p * 1000 for _, p in seen]
    return {
        "rate": rate,
        "achieved": sent / sending if sending else 0.0,
        "failed": sum(part["failed"] for part in parts),
        "probes": len(samples),
        "lost": len(samples) - len(seen),
        "p50_ms": _percentile(ms, 0.5),
        "p99_ms": _percentile(ms, 0.99),
        "max_ms": max(ms) if ms else float("nan"),
        "first_third_p50_ms": statistics.median(thirds[0]) * 1000 if thirds[0] else float("nan"),
        "last_third_p50_ms": statistics.median(thirds[1]) * 1000 if thirds[1] else float("nan"),
        "seconds": elapsed,
        "sender_late_ms": max(part["late"] for part in parts) * 1000,
    }


async def run(
    rates: list[int], duration: float, probes: int, loaders: int, processes: Processes
) -> list[dict[str, Any]]:
    database = f"fanout_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(SHARED)
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    data = Path(tempfile.mkdtemp(prefix="tenantgate-fanout-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTGATE_")}
    env.update(
        TENANTGATE_DATABASE_URL=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}",
        TENANTGATE_SECRET_KEY="bench-fanout-secret",
        TENANTGATE_ADMIN_TOKEN=ADMIN_TOKEN,
        TENANTGATE_DATA_DIR=str(data),
        TENANTGATE_REFAPPS="false",
        TENANTGATE_FAILURE_LIMIT="1000000",
        TENANTGATE_LOG_LEVEL="warning",
    )
    ports = [free_port() for _ in range(NODES)]
    results: list[dict[str, Any]] = []
    try:
        log = (data / "nodes.log").open("ab")
        for i, port in enumerate(ports):
            argv = [sys.executable, "-c", "from tenantgate.cli.main import main; main()"]
            argv += ["serve", "--host", "127.0.0.1", "--port", str(port)]
            processes.start(argv, cpu=i % 2, env=env, stdout=log, stderr=log)
            wait_port(port, 60)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        clients = [
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{p}", timeout=30, limits=limits)
            for p in ports
        ]
        try:
            form = await _setup(clients[0])
            started = time.perf_counter()
            for _ in range(20):
                await clients[1].post("/v1/token/introspect", data={"token": "x"}, headers=ADMIN)
            rtt_ms = (time.perf_counter() - started) / 20 * 1000
            for rate in rates:
                tokens = await _tokens(clients, form, int(rate * duration))
                await asyncio.sleep(1.0)  # every node has every token's issuance behind it
                before = [await _xact_commit(SHARED, database)]
                counters = [
                    (
                        await _metric(c, "tenantgate_feed_notifications_total"),
                        await _metric(c, "tenantgate_feed_changes_applied_total"),
                    )
                    for c in clients
                ]
                result = await _phase(ports, tokens, rate, duration, probes, loaders)
                after = await _xact_commit(SHARED, database)
                result["db_xact_per_s_per_node"] = (after - before[0]) / result["seconds"] / NODES
                result["notifications"] = [
                    await _metric(c, "tenantgate_feed_notifications_total") - n
                    for c, (n, _) in zip(clients, counters, strict=True)
                ]
                result["applied"] = [
                    await _metric(c, "tenantgate_feed_changes_applied_total") - a
                    for c, (_, a) in zip(clients, counters, strict=True)
                ]
                result["probe_rtt_ms"] = rtt_ms
                results.append(result)
        finally:
            for client in clients:
                await client.aclose()
    finally:
        processes.stop_all()
        admin = await asyncpg.connect(SHARED)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="100,300,1000", help="invalidations/s, comma-separated")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per rate")
    parser.add_argument("--probes", type=int, default=10, help="probed invalidations per second")
    parser.add_argument("--loaders", type=int, default=2, help="load-generator processes")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    options = parser.parse_args()
    processes = Processes([])
    results = asyncio.run(
        run(
            [int(r) for r in options.rates.split(",")],
            options.duration,
            options.probes,
            options.loaders,
            processes,
        )
    )
    if options.json:
        print(json.dumps(results, indent=2))
        return
    rtt = results[0]["probe_rtt_ms"]
    print(f"{NODES} nodes, {options.duration:g} s per rate; probe round trip {rtt:.2f} ms")
    print(
        "rate/s  achieved  p50 ms  p99 ms  max ms  lost/probes"
        "  1st-3rd p50  last-3rd p50  db tx/s/node"
    )
    for r in results:
        print(
            f"{r['rate']:6d} {r['achieved']:9.0f} {r['p50_ms']:7.1f} {r['p99_ms']:7.1f} "
            f"{r['max_ms']:7.1f} {r['lost']:5d}/{r['probes']:<6d} {r['first_third_p50_ms']:11.1f} "
            f"{r['last_third_p50_ms']:13.1f} {r['db_xact_per_s_per_node']:13.0f}"
        )
        print(f"        notifications per node {r['notifications']}, applied {r['applied']}")


if __name__ == "__main__":
    main()
