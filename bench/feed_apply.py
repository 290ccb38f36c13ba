"""How fast one node applies the change feed: a burst of invalidations written by another node
(one transaction, as the group-commit writer does under load) and read by this node's feed,
timed from the start of the read to the last change applied. The baseline, measured in the
same run, is the bare cost of reading the same rows with one SELECT on the same engine.

    python bench/feed_apply.py --changes 50000 --rounds 3 [--sqlite]

Prints changes applied per second and the ratio to the bare read."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy import text

from tenantgate.services import Services
from tenantgate.settings import Settings
from tenantgate.storage import models as m

SHARED = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _round(writer: Services, reader: Services, count: int) -> tuple[float, float]:
    now = time.time()
    jtis = [f"bench-{uuid.uuid4().hex}" for _ in range(count)]
    async with writer.db.begin() as session:
        await session.execute(
            m.RevokedToken.__table__.insert(),
            [{"jti": j, "expires_at": now + 900, "revoked_at": now} for j in jtis],
        )
        await session.execute(
            m.Change.__table__.insert(), [{"at": now, "entity": "token", "key": j} for j in jtis]
        )
    started = time.perf_counter()
    applied = await reader.feed.poll()
    feed_seconds = time.perf_counter() - started
    assert applied == count and all(j in reader.state.revoked for j in jtis), applied
    started = time.perf_counter()
    async with reader.db.session() as session:
        rows = (
            await session.execute(
                text("SELECT entity, key FROM changes ORDER BY id DESC LIMIT :n"), {"n": count}
            )
        ).all()
    bare_seconds = time.perf_counter() - started
    assert len(rows) == count
    return feed_seconds, bare_seconds


async def main(changes: int, rounds: int, sqlite: bool) -> None:
    name = f"bench_feed_{uuid.uuid4().hex[:8]}"
    folder = Path(tempfile.mkdtemp(prefix="tenantgate-feed-"))
    if sqlite:
        url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    else:
        admin = await asyncpg.connect(SHARED)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    settings = Settings(database_url=url, data_dir=folder, secret_key="bench", admin_token="tga_b")
    writer, reader = Services.build(settings), Services.build(settings)
    try:
        await writer.open(background=False)
        await reader.open(background=False)
        results = [await _round(writer, reader, changes) for _ in range(rounds)]
    finally:
        await reader.close()
        await writer.close()
        if not sqlite:
            admin = await asyncpg.connect(SHARED)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    feed = statistics.median(r[0] for r in results)
    bare = statistics.median(r[1] for r in results)
    backend = "SQLite" if sqlite else "PostgreSQL"
    print(f"{backend}: {changes} changes per read, median of {rounds} rounds")
    print(f"  feed read + apply: {feed * 1000:8.1f} ms  = {changes / feed:10,.0f} changes/s")
    print(f"  bare SELECT:       {bare * 1000:8.1f} ms  = {changes / bare:10,.0f} rows/s")
    print(f"  feed / bare time:  {feed / bare:8.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sqlite", action="store_true")
    options = parser.parse_args()
    asyncio.run(main(options.changes, options.rounds, options.sqlite))
