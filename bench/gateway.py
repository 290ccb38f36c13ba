"""Gateway benchmark: what tenantgate's gateway costs over talking to the upstream directly.

    python bench/gateway.py [--duration 10] [--connections 16] [--warmup 2] [--rounds 1] [--nice 0]
    python bench/gateway.py --clients [--duration 10]   # the upstream client, by measurement

Starts, each as its own process on 127.0.0.1:

(a) a fixed-body upstream (uvloop + httptools, answers every request with a small JSON),
(b) nginx as a plain keep-alive reverse proxy to it, if /usr/sbin/nginx exists,
(c) tenantgate (uvicorn, one worker, uvloop + httptools, temp SQLite) with a tenant whose app
    points at the upstream, called with a valid token,
(d) a no-op Starlette endpoint on the same stack as (c): the ceiling for (c),
(e) the gateway of (c) called by a second API user that holds a read-only role and has a rate
    limit and a daily quota, counted in memory (limits it never reaches: every request is
    read, checked and counted, none refused),
(c') the gateway of (f)'s node, called as in (c): (f)'s baseline, measured on its own process,
(f) the same as (e) on a second tenantgate whose limits are counted in Redis: a redis-server of the
    benchmark's own, on the load's CPU (as a deployment's Redis has CPUs other than the
    gateway's), or the one --redis URL names; skipped if there is neither.

The server under test is pinned to CPU 0 and the load generator to CPU 1 (the upstream shares
CPU 1 while it is behind a proxy, and so does the Redis of (f)). Each case is measured twice:
throughput with ``--connections`` keep-alive connections, then latency with one connection. With
``--rounds N`` the cases run round-robin N times and the median of each figure is shown.
The load is wrk (POST with a JSON body and the bearer) when installed, else a small asyncio
keep-alive HTTP/1.1 client. Prints a markdown table. Only the processes started here are
stopped, by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

BODY = b'{"data":{"items":[{"id":"1","name":"bolt"},{"id":"2","name":"nut"}]}}'
QUERY = json.dumps({"query": "{ items { id name } }", "variables": {}, "operationName": None})
ADMIN_TOKEN = "tga_bench-admin-token"
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import (  # noqa: E402
    LOAD_CPU,
    NGINX,
    SERVER_CPU,
    Case,
    Processes,
    Result,
    free_port,
    median_case,
    pin,
    processes,
    start_nginx,
    uvicorn_argv,
    wait_port,
    wrk,
)

# --- the processes ---------------------------------------------------------------------------


def serve_upstream(port: int) -> None:
    """The fixed-body upstream: raw asyncio protocol, httptools parser, keep-alive."""
    import httptools
    import uvloop

    response = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
        % (len(BODY), BODY)
    )

    class Upstream(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.parser = httptools.HttpRequestParser(self)

        def data_received(self, data: bytes) -> None:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.transport.close()

        def on_message_complete(self) -> None:
            self.transport.write(response)  # type: ignore[attr-defined]

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Upstream, "127.0.0.1", port, backlog=1024)
        await server.serve_forever()

    uvloop.run(serve())


def noop_app():  # type: ignore[no-untyped-def]
    """(d): the same stack as the gateway (uvicorn + Starlette route), no work."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def noop(_request: Request) -> Response:
        return Response(BODY, media_type="application/json")

    return Starlette(routes=[Route("/v1/fwd/{cluster}/{app}/api", noop, methods=["GET", "POST"])])


NGINX_PROXY = """
    upstream fixed {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://fixed;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}"""


def start_proxy(procs: Processes, tmp: Path, upstream: int) -> int:
    """nginx as a plain keep-alive reverse proxy to the upstream; its port."""
    port = free_port()
    start_nginx(procs, tmp, NGINX_PROXY.format(upstream=upstream, port=port), port, SERVER_CPU)
    return port


@dataclass
class Tenantgate:
    """A started tenantgate: its port, the gateway URL, a valid access token and the token
    request's form body that got it."""

    port: int
    gateway_url: str
    token: str
    form: str
    tenant_id: str = ""


def start_tenantgate(procs: Processes, tmp: Path, upstream: int, **settings: str) -> Tenantgate:
    """tenantgate with an application accepted by a tenant whose app is the fixed upstream;
    ``settings`` are more environment variables for it."""
    import httpx

    port = free_port()
    env = {
        **os.environ,
        "TENANTGATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
        "TENANTGATE_DATA_DIR": str(tmp),
        "TENANTGATE_SECRET_KEY": "bench-server-secret",
        "TENANTGATE_ADMIN_TOKEN": ADMIN_TOKEN,
        "TENANTGATE_REFAPPS": "false",
        "TENANTGATE_LOG_LEVEL": "warning",
        **settings,
    }
    argv = uvicorn_argv("tenantgate.app:create_app", port)
    procs.start(argv, SERVER_CPU, env=env)
    wait_port(port)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=admin, timeout=30) as http:
        app = http.post("/admin/v1/applications", json={"name": "bench"}).raise_for_status()
        application = app.json()
        body = {"name": "Bench tenant", "region": "eu", "cluster": "cluster-bench"}
        tenant = http.post("/admin/v1/tenants", json=body).raise_for_status().json()
        tenant_id, application_id = tenant["tenant_id"], application["application_id"]
        http.put(
            f"/admin/v1/tenants/{tenant_id}/apps/sdmo",
            json={"graphql_url": f"http://127.0.0.1:{upstream}/graphql"},
        ).raise_for_status()
        http.put(
            f"/admin/v1/tenants/{tenant_id}/api-users/{application_id}",
            json={"first_name": "Bench", "last_name": "User"},
        ).raise_for_status()
        form = {
            "grant_type": "client_credentials",
            "client_id": application["client_id"],
            "client_secret": application["client_secret"],
            "scope": f"tenantid:{tenant_id}",
        }
    token = httpx.post(f"http://127.0.0.1:{port}/v1/token", data=form).raise_for_status().json()
    url = token["urls"]["apps"]["sdmo"]["graphQL"].replace("https://", "http://")
    return Tenantgate(port, url, token["access_token"], urlencode(form), tenant_id)


READ_ONLY = {"grants": [{"app": "sdmo", "operations": ["query"], "fields": ["items"]}]}
# Limits the benchmark never reaches, so that every request is counted and none refused.
UNREACHED = {
    "rate_limit": {"requests_per_minute": 1_000_000, "burst": 1_000_000},
    "daily_quota": 1_000_000_000,
}


def limited_token(node: Tenantgate) -> str:
    """A second application of the node's tenant whose API user holds a read-only role (the
    query's root field) and has a rate limit and a daily quota; its access token."""
    import httpx

    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{node.port}", headers=admin, timeout=30) as http:
        application = http.post("/admin/v1/applications", json={"name": "bench limited"})
        created = application.raise_for_status().json()
        tenant = f"/admin/v1/tenants/{node.tenant_id}"
        http.put(f"{tenant}/roles/bench-reader", json=READ_ONLY).raise_for_status()
        user = {"first_name": "Bench", "last_name": "Limited", "roles": ["bench-reader"]}
        http.put(
            f"{tenant}/api-users/{created['application_id']}", json={**user, **UNREACHED}
        ).raise_for_status()
        form = {
            "grant_type": "client_credentials",
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
            "scope": f"tenantid:{node.tenant_id}",
        }
    issued = httpx.post(f"http://127.0.0.1:{node.port}/v1/token", data=form).raise_for_status()
    token: str = issued.json()["access_token"]
    return token


def start_redis(procs: Processes) -> str:
    """A redis-server of the benchmark's own, keeping nothing on disk, on the load's CPU."""
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    procs.start([*argv, "--appendonly", "no"], LOAD_CPU, stdout=subprocess.DEVNULL)
    wait_port(port)
    return f"redis://127.0.0.1:{port}/0"


def redis_listening(url: str) -> bool:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or 6379), timeout=1).close()
    except OSError:
        return False
    return True


# --- the load ---------------------------------------------------------------------------------


WRK_LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{auth}
"""


def run_wrk(url: str, token: str | None, connections: int, seconds: float, tmp: Path) -> Result:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    return wrk(url, WRK_LUA.format(body=json.dumps(QUERY), auth=auth), connections, seconds, tmp)


async def _python_load(url: str, token: str | None, connections: int, seconds: float) -> Result:
    """The fallback load generator: keep-alive HTTP/1.1 over raw asyncio streams."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    body = QUERY.encode()
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        + (f"Authorization: Bearer {token}\r\n" if token else "")
        + "\r\n"
    ).encode()
    request = head + body
    latencies: list[float] = []
    bad = errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal bad, errors
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                writer.write(request)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
                if not status_line.split(b" ", 2)[1].startswith(b"2"):
                    bad += 1
        except (OSError, asyncio.IncompleteReadError, IndexError):
            errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return Result(len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000, bad, errors)


def measure(
    url: str, token: str | None, connections: int, args: argparse.Namespace, tmp: Path
) -> Result:
    if shutil.which("wrk"):
        run_wrk(url, token, connections, args.warmup, tmp)
        return run_wrk(url, token, connections, args.duration, tmp)
    pin(os.getpid(), LOAD_CPU)
    asyncio.run(_python_load(url, token, connections, args.warmup))
    return asyncio.run(_python_load(url, token, connections, args.duration))


def load(url: str, token: str | None, args: argparse.Namespace, tmp: Path) -> Case:
    """Throughput under ``--connections``, then latency with one connection (no queueing:
    with a closed loop, latency under saturation is only connections / throughput)."""
    return Case(
        measure(url, token, args.connections, args, tmp),
        measure(url, token, 1, args, tmp),
    )


# --- the run ----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Case | None]:
    """Starts every server once, then measures the cases round-robin ``--rounds`` times and
    keeps the median of each figure: on a shared machine, load from elsewhere then hits
    every case alike instead of one."""
    with tempfile.TemporaryDirectory(prefix="tg-bench-") as name, processes() as procs:
        tmp = Path(name)
        upstream_port = free_port()
        upstream = procs.start(
            [sys.executable, __file__, "--serve-upstream", str(upstream_port)], LOAD_CPU
        )
        wait_port(upstream_port)
        node = start_tenantgate(procs, tmp, upstream_port)
        gateway_url, token = node.gateway_url, node.token
        shared = None
        if args.redis is None and shutil.which("redis-server"):
            args.redis = start_redis(procs)
        if args.redis is not None and redis_listening(args.redis):
            (tmp / "redis").mkdir()
            shared = start_tenantgate(
                procs,
                tmp / "redis",
                upstream_port,
                TENANTGATE_REDIS_URL=args.redis,
                TENANTGATE_REDIS_PREFIX=f"tenantgate-bench-{os.getpid()}:",
            )
        noop_port = free_port()
        procs.start(uvicorn_argv("gateway:noop_app", noop_port, "--app-dir", str(HERE)), SERVER_CPU)
        wait_port(noop_port)
        cases: dict[str, tuple[str, str | None] | None] = {
            "(a) direct upstream": (f"http://127.0.0.1:{upstream_port}/graphql", None),
            "(b) nginx proxy": None,
            "(c) tenantgate gateway": (gateway_url, token),
            "(d) no-op, same stack": (
                f"http://127.0.0.1:{noop_port}/v1/fwd/cluster-bench/sdmo/api",
                token,
            ),
            "(e) gateway, role + rate limit (memory)": (gateway_url, limited_token(node)),
            "(c') gateway of (f)'s node, no limits": None,
            "(f) gateway, role + rate limit (Redis)": None,
        }
        if shared is not None:
            cases["(c') gateway of (f)'s node, no limits"] = (shared.gateway_url, shared.token)
            cases["(f) gateway, role + rate limit (Redis)"] = (
                shared.gateway_url,
                limited_token(shared),
            )
        if NGINX.exists():
            nginx_port = start_proxy(procs, tmp, upstream_port)
            cases["(b) nginx proxy"] = (f"http://127.0.0.1:{nginx_port}/graphql", None)
        runs: dict[str, list[Case]] = {case: [] for case in cases}
        for _ in range(args.rounds):
            for case, target in cases.items():
                if target is None:
                    continue
                # The upstream is the server under test in (a), else it shares the load's CPU.
                pin(upstream.pid, SERVER_CPU if case.startswith("(a)") else LOAD_CPU)
                runs[case].append(load(*target, args, tmp))
        return {case: median_case(found) if found else None for case, found in runs.items()}


def table(results: dict[str, Case | None], connections: int) -> str:
    lines = [
        f"| case | req/s ({connections} conn) | p50 ms | p99 ms | non-2xx "
        "| p50 ms (1 conn) | p99 ms (1 conn) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, case in results.items():
        if case is None:
            missing = "/usr/sbin/nginx absent" if name.startswith("(b)") else "no Redis"
            lines.append(f"| {name} | skipped: {missing} | | | | | |")
            continue
        r, u = case.loaded, case.unloaded
        lines.append(
            f"| {name} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
            f"{r.non_2xx + u.non_2xx + r.errors + u.errors} | {u.p50_ms:.2f} | {u.p99_ms:.2f} |"
        )
    gateway = results.get("(c) tenantgate gateway")
    noop = results.get("(d) no-op, same stack")
    direct = results.get("(a) direct upstream")
    if gateway and noop and direct:
        added = gateway.unloaded.p50_ms - direct.unloaded.p50_ms
        lines += [
            "",
            f"- gateway / no-op throughput: {gateway.loaded.rps / noop.loaded.rps:.0%} "
            "(target >= 40%)",
            f"- gateway p50 added over direct, 1 connection: {added:.2f} ms (target < 1 ms)",
            f"- gateway p99, 1 connection: {gateway.unloaded.p99_ms:.2f} ms; "
            f"{connections} connections: {gateway.loaded.p99_ms:.2f} ms (target < 10 ms)",
        ]
    # Each limited case against the same node without limits: two processes started alike
    # have been seen to run at different speeds for a whole run.
    for key, base in (("(e)", "(c)"), ("(f)", "(c')")):
        limited = next((c for n, c in results.items() if n.startswith(key)), None)
        plain = next((c for n, c in results.items() if n.startswith(base)), None)
        if plain and limited:
            added = limited.unloaded.p50_ms - plain.unloaded.p50_ms
            lines.append(
                f"- {key} / {base} throughput: {limited.loaded.rps / plain.loaded.rps:.0%} "
                f"(target >= 85%); p50 added over {base}, 1 connection: {added:.3f} ms "
                "(target < 0.1 ms)"
            )
    return "\n".join(lines)


async def _client_rate(kind: str, url: str, seconds: float, concurrency: int) -> float:
    """Requests per second one process gets from an HTTP client against the upstream."""
    import httpcore
    import httpx

    from tenantgate.gateway.upstream import PooledUpstream, Target

    body = QUERY.encode()
    headers = {"content-type": "application/json"}
    target = Target.parse(url)
    raw = [(b"host", target.authority), (b"content-type", b"application/json")]
    raw.append((b"content-length", str(len(body)).encode()))
    count = 0
    async with contextlib.AsyncExitStack() as stack:
        if kind == "httpx.AsyncClient":
            client = await stack.enter_async_context(httpx.AsyncClient())

            async def once() -> None:
                (await client.post(url, content=body, headers=headers)).raise_for_status()

        elif kind == "httpcore pool":
            pool = await stack.enter_async_context(httpcore.AsyncConnectionPool())

            async def once() -> None:
                await pool.request("POST", url, headers=headers, content=body)

        else:
            lean = PooledUpstream(10.0)
            stack.push_async_callback(lean.aclose)

            async def once() -> None:
                response = await lean.send(b"POST", target, target.path, raw, body)
                await response.read()
                await response.aclose()

        async def worker(deadline: float) -> None:
            nonlocal count
            while time.perf_counter() < deadline:
                await once()
                count += 1

        await asyncio.gather(*(worker(time.perf_counter() + 1) for _ in range(concurrency)))
        count = 0
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds) for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


def compare_clients(args: argparse.Namespace) -> str:
    """The choice of upstream client, by measurement: each client in one uvloop process on
    CPU 0, against the fixed upstream on CPU 1."""
    import uvloop

    lines = [
        f"| upstream client | req/s ({args.connections} concurrent, one process) |",
        "| --- | ---: |",
    ]
    with processes() as procs:
        port = free_port()
        procs.start([sys.executable, __file__, "--serve-upstream", str(port)], LOAD_CPU)
        wait_port(port)
        pin(os.getpid(), SERVER_CPU)
        for kind in ("httpx.AsyncClient", "httpcore pool", "tenantgate PooledUpstream"):
            url = f"http://127.0.0.1:{port}/graphql"
            rate = uvloop.run(_client_rate(kind, url, args.duration, args.connections))
            lines.append(f"| {kind} | {rate:,.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per case")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per case")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--rounds", type=int, default=1, help="rounds; the median is shown")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run this and every process it starts at this niceness (negative needs root): "
        "on a shared machine, keeps other work from deciding the figures",
    )
    parser.add_argument(
        "--clients", action="store_true", help="compare upstream HTTP clients instead"
    )
    parser.add_argument(
        "--redis",
        default=os.environ.get("TENANTGATE_REDIS_URL"),
        help="the Redis of case (f) (default: a redis-server started here)",
    )
    parser.add_argument("--serve-upstream", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
        return
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    if args.clients:
        print(compare_clients(args))
        return
    load_tool = "wrk" if shutil.which("wrk") else "python asyncio client"
    print(
        f"{os.cpu_count()} CPUs, load: {load_tool}, {args.connections} connections, "
        f"{args.warmup:g}s warm-up + {args.duration:g}s per case and pass, "
        f"{args.rounds} round(s), nice {args.nice}, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    print(table(run(args), args.connections))


if __name__ == "__main__":
    main()
