"""Token endpoint benchmark: client-credentials tokens per second from one tenantgate worker.

    python bench/token_endpoint.py [--duration 10] [--connections 16] [--warmup 2] [--rounds 1]
                          [--postgres] [--nice 0]

Starts, each as its own process on 127.0.0.1:

(a) tenantgate (uvicorn, one worker, uvloop + httptools) on a temp SQLite database, with an
    application accepted by a tenant; every request issues a signed JWT whose audit row is
    committed (group commit) before the 200,
(b) with --postgres, the same on a fresh PostgreSQL database (created and dropped here),
(c) a no-op POST endpoint on the same stack, that reads the form body and answers a fixed
    JSON: the ceiling of any Python server here.

The server is pinned to CPU 0 and wrk to CPU 1. Each case is measured with --connections
keep-alive connections (throughput) and with one (latency without queueing). Prints a markdown
table. Only the processes started here are stopped, by PID.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import (  # noqa: E402
    SERVER_CPU,
    Case,
    Processes,
    free_port,
    median_case,
    processes,
    uvicorn_argv,
    wait_port,
    wrk,
)

ADMIN_TOKEN = "tga_bench-admin-token"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
LUA = """
wrk.method = "POST"
wrk.body = "{body}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
"""


def noop_app():  # type: ignore[no-untyped-def]
    """(c): uvicorn + a Starlette route that reads the body: no token work at all."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def noop(request: Request) -> Response:
        await request.body()
        return Response(b'{"access_token":"x"}', media_type="application/json")

    return Starlette(routes=[Route("/v1/token", noop, methods=["POST"])])


def start_tenantgate(procs: Processes, tmp: Path, database_url: str) -> tuple[str, str]:
    """The server and one accepted application; returns the token URL and the form body."""
    import httpx

    port = free_port()
    env = {
        **os.environ,
        "TENANTGATE_DATABASE_URL": database_url,
        "TENANTGATE_DATA_DIR": str(tmp),
        "TENANTGATE_SECRET_KEY": "bench-server-secret",
        "TENANTGATE_ADMIN_TOKEN": ADMIN_TOKEN,
        "TENANTGATE_REFAPPS": "false",
    }
    procs.start(uvicorn_argv("tenantgate.app:create_app", port), SERVER_CPU, env=env)
    wait_port(port, timeout=60)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=admin, timeout=30) as http:
        application = http.post("/admin/v1/applications", json={"name": "bench"}).json()
        body = {"name": "Bench tenant", "region": "eu", "cluster": "cluster-bench"}
        tenant_id = http.post("/admin/v1/tenants", json=body).json()["tenant_id"]
        http.put(
            f"/admin/v1/tenants/{tenant_id}/apps/sdmo",
            json={"graphql_url": "http://127.0.0.1:9/graphql"},
        ).raise_for_status()
        http.put(
            f"/admin/v1/tenants/{tenant_id}/api-users/{application['application_id']}",
            json={"first_name": "Bench", "last_name": "User"},
        ).raise_for_status()
    form = (
        f"grant_type=client_credentials&client_id={application['client_id']}"
        f"&client_secret={application['client_secret']}&scope=tenantid%3A{tenant_id}"
    )
    check = httpx.post(
        f"http://127.0.0.1:{port}/v1/token",
        content=form,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    check.raise_for_status()
    return f"http://127.0.0.1:{port}/v1/token", form


def measure(url: str, form: str, args: argparse.Namespace, tmp: Path) -> Case:
    lua = LUA.format(body=form)
    wrk(url, lua, args.connections, args.warmup, tmp)
    loaded = wrk(url, lua, args.connections, args.duration, tmp)
    unloaded = wrk(url, lua, 1, args.duration, tmp)
    return Case(loaded, unloaded)


def run(args: argparse.Namespace) -> dict[str, Case]:
    import asyncio

    import asyncpg

    database = f"tg_bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="tg-bench-") as name, processes() as procs:
        tmp = Path(name)
        targets = {
            "(a) tenantgate, SQLite": start_tenantgate(
                procs, tmp, f"sqlite+aiosqlite:///{tmp}/bench.db"
            )
        }
        if args.postgres:
            asyncio.run(_pg(asyncpg, f'CREATE DATABASE "{database}"'))
            url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
            targets["(b) tenantgate, PostgreSQL"] = start_tenantgate(procs, tmp, url)
        noop_port = free_port()
        procs.start(
            uvicorn_argv("token_endpoint:noop_app", noop_port, "--app-dir", str(HERE)), SERVER_CPU
        )
        wait_port(noop_port)
        targets["(c) no-op, same stack"] = (f"http://127.0.0.1:{noop_port}/v1/token", "x=1")
        try:
            rounds = [
                {case: measure(url, form, args, tmp) for case, (url, form) in targets.items()}
                for _ in range(args.rounds)
            ]
        finally:
            procs.stop_all()
            if args.postgres:
                asyncio.run(_pg(asyncpg, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    return {case: median_case([r[case] for r in rounds]) for case in targets}


async def _pg(asyncpg, statement: str) -> None:  # type: ignore[no-untyped-def]
    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def table(results: dict[str, Case], connections: int) -> str:
    lines = [
        f"| case | req/s ({connections} conn) | p50 ms | p99 ms | non-2xx "
        "| p50 ms (1 conn) | p99 ms (1 conn) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, case in results.items():
        r, u = case.loaded, case.unloaded
        lines.append(
            f"| {name} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
            f"{r.non_2xx + u.non_2xx + r.errors + u.errors} | {u.p50_ms:.2f} | {u.p99_ms:.2f} |"
        )
    ceiling = results["(c) no-op, same stack"].loaded.rps
    lines.append("")
    for name, case in results.items():
        if not name.startswith("(c)"):
            lines.append(f"- {name}: {case.loaded.rps / ceiling:.0%} of the no-op ceiling")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per case")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per case")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--rounds", type=int, default=1, help="rounds; the median is shown")
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument(
        "--nice", type=int, default=0, help="niceness for this and its processes (negative: root)"
    )
    args = parser.parse_args()
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    results = run(args)
    print(
        f"{args.duration:g} s per case after {args.warmup:g} s warm-up, "
        f"{args.rounds} round(s), load average {os.getloadavg()[0]:.1f}\n"
    )
    print(table(results, args.connections))


if __name__ == "__main__":
    main()
