"""What the audit trail costs on disk per issued token: token.issued rows like the issuer's
(a 22-character jti, a real client id, tenant id and application id, two apps, an address)
written through the group-commit writer, and the growth of the table with its indexes
measured on PostgreSQL (``pg_total_relation_size``) and on SQLite (pages in use).

    python bench/audit_size.py --tokens 100000

Prints bytes per issued token and the growth per day at 10 and 100 tokens a second."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from tenantgate.storage.audit import audit_row
from tenantgate.storage.batch import BatchWriter
from tenantgate.storage.database import Database
from tenantgate.storage.migrate import migrate

SHARED = "postgresql://postgres@127.0.0.1:5432/postgres"


def issued_rows(count: int) -> list[dict[str, object]]:
    client_id = secrets.token_urlsafe(18)
    tenant_id = secrets.token_urlsafe(16)[:21]
    now = time.time()
    return [
        audit_row(
            "token.issued",
            f"client:{client_id}",
            now + i / 1000,
            tenant_id=tenant_id,
            application_id="123456789",
            jti=secrets.token_urlsafe(16)[:22],
            exp=int(now) + 900,
            apps=["sdmo", "shopfloor"],
            address="203.0.113.7",
        )
        for i in range(count)
    ]


async def write(url: str, count: int) -> None:
    writer = BatchWriter(url, interval_ms=0, max_batch=5_000)
    writer.start()
    try:
        rows = issued_rows(count)
        for start in range(0, count, 5_000):
            await asyncio.gather(*(writer.write(row) for row in rows[start : start + 5_000]))
    finally:
        await writer.stop()


async def postgres(count: int) -> float:
    name = f"bench_audit_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(SHARED)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        db = Database(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
        await migrate(db)
        await db.dispose()
        connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}")
        size = "SELECT pg_total_relation_size('audit_events')"
        before = await connection.fetchval(size)
        await write(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", count)
        await connection.execute("VACUUM ANALYZE audit_events")
        after = await connection.fetchval(size)
        await connection.close()
        return (after - before) / count
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def sqlite(count: int) -> float:
    path = Path(tempfile.mkdtemp(prefix="tenantgate-audit-")) / "tenantgate.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await migrate(db)
    await db.dispose()

    def used() -> int:
        connection = sqlite3.connect(path)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, free, page = (
            connection.execute(f"PRAGMA {p}").fetchone()[0]
            for p in ("page_count", "freelist_count", "page_size")
        )
        connection.close()
        return (pages - free) * page

    before = used()
    await write(f"sqlite+aiosqlite:///{path}", count)
    return (used() - before) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=100_000)
    args = parser.parse_args()
    for name, measure in (("PostgreSQL", postgres), ("SQLite", sqlite)):
        per_token = asyncio.run(measure(args.tokens))
        per_day = [per_token * rate * 86_400 / 2**30 for rate in (10, 100)]
        print(
            f"{name:10}  {per_token:6.0f} bytes per issued token;  a day at 10/s: "
            f"{per_day[0]:.2f} GiB, at 100/s: {per_day[1]:.1f} GiB"
        )


if __name__ == "__main__":
    main()
