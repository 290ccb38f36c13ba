"""What an admin list costs now that it pages: 10,000 applications (each with a secret) written
straight to the tables, then pages read through the in-process admin API — the first page and
pages deep in the list, 100 and 1,000 items — while a 1 ms ticker on the same event loop
measures how long the loop was held (what a gateway request on the same node would wait).

    python bench/admin_lists.py                 # SQLite
    python bench/admin_lists.py --postgresql    # a database of its own on 127.0.0.1:5432
    python bench/admin_lists.py --gc-freeze     # gc.freeze() once the app is built

Prints the median and 90th percentile per page, the worst loop lag and its 99th percentile.
The worst lags are the garbage collector's full collections, which walk every object of the
process; ``--gc-freeze`` moves what startup built out of their reach."""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from tenantgate.app import create_app
from tenantgate.services import Services
from tenantgate.settings import Settings
from tenantgate.storage import models as m

SHARED = "postgresql://postgres@127.0.0.1:5432/postgres"
ADMIN = {"Authorization": "Bearer tga_bench"}


async def add_applications(services: Services, count: int) -> None:
    now = time.time()
    apps = [
        {
            "application_id": f"8{n:08d}",
            "client_id": f"bench{n:019d}",
            "name": f"Bench {n}",
            "status": "active",
            "owner": "bench@example.com",
            "created_at": now + n / 1000,
            "updated_at": now,
        }
        for n in range(count)
    ]
    secrets = [
        {
            "secret_id": f"sec_bench{n}",
            "application_id": app["application_id"],
            "secret_hash": "0" * 64,
            "hint": "tgs_benc…",
            "created_at": now,
        }
        for n, app in enumerate(apps)
    ]
    async with services.db.begin() as session:
        await session.execute(m.Application.__table__.insert(), apps)
        await session.execute(m.ClientSecret.__table__.insert(), secrets)


class Ticker:
    """Sleeps 1 ms at a time and records how late each wake-up was."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            self.lags.append(time.perf_counter() - start - 0.001)

    def __enter__(self) -> Ticker:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def halfway(client: httpx.AsyncClient) -> str:
    """The cursor of the page that starts 5,000 items in."""
    deep = await client.get("/admin/v1/applications", params={"limit": 1000}, headers=ADMIN)
    for _ in range(4):
        deep = await client.get(deep.links["next"]["url"], headers=ADMIN)
    return str(deep.headers["x-next-cursor"])


async def pages(client: httpx.AsyncClient, cursor: str, limit: int, rounds: int) -> list[float]:
    """``rounds`` reads, alternately of the first page and of the page at ``cursor``."""
    times = []
    for n in range(rounds):
        params = {"limit": limit} if n % 2 else {"limit": limit, "cursor": cursor}
        start = time.perf_counter()
        response = await client.get("/admin/v1/applications", params=params, headers=ADMIN)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200 and len(response.json()) == limit
    return times


def report(label: str, times: list[float], lags: list[float]) -> None:
    times, lags = sorted(times), sorted(lags)
    print(
        f"{label}: median {statistics.median(times) * 1000:.1f} ms, "
        f"p90 {times[int(len(times) * 0.9)] * 1000:.1f} ms; event loop held at most "
        f"{lags[-1] * 1000:.1f} ms, p99 {lags[int(len(lags) * 0.99)] * 1000:.1f} ms"
    )


async def measure(database_url: str, data_dir: Path, count: int, rounds: int, freeze: bool) -> None:
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key="bench",
        admin_token="tga_bench",
        refapps=False,
        log_level="warning",
    )
    services = Services.build(settings)
    await services.open()
    try:
        await add_applications(services, count)
        transport = httpx.ASGITransport(app=create_app(settings, services))
        if freeze:
            gc.collect()
            gc.freeze()
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            cursor = await halfway(client)
            for limit in (100, 1000):
                await pages(client, cursor, limit, 2)  # warm up
                with Ticker() as ticker:
                    times = await pages(client, cursor, limit, rounds)
                report(f"page of {limit} among {count:,}", times, ticker.lags)
    finally:
        await services.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--gc-freeze", action="store_true")
    args = parser.parse_args()
    run = (args.applications, args.rounds, args.gc_freeze)
    with tempfile.TemporaryDirectory() as folder:
        if not args.postgresql:
            url = f"sqlite+aiosqlite:///{folder}/bench.db"
            await measure(url, Path(folder), *run)
            return
        name = f"tenantgate_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(SHARED)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = SHARED.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            await measure(f"{url}/{name}", Path(folder), *run)
        finally:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
