"""Which servers run on a home folder, and the one demo a database may have.

A server writes ``<home>/run/<pid>.json`` (its URL, database, whether it is the demo, when it
started) and holds an exclusive ``flock`` on that file for as long as it lives. The kernel
drops the lock when the process ends, however it ends, so a reader tells a live record from
a stale one by trying to lock it: no pid file that a reused pid could make look alive, no
port probe. The record is locked before it gets its name, so no reader sees it unlocked.

A second ``tenantgate demo`` on the same database is refused before it changes anything (it
would give the demo application a new secret, and the running demo's would stop working); a
demo also holds ``<home>/demo-<database>.lock`` for its whole life, so that of two started at
once only one passes. What this cannot see is a server on another machine, or
one with another home folder that shares a PostgreSQL database."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from tenantgate.home import describe, prepare


@dataclass(frozen=True)
class Server:
    pid: int
    url: str
    database: str
    demo: bool
    started_at: float


class DemoRunning(Exception):
    """A demo already runs on this database; ``line`` is what the operator reads."""

    def __init__(self, server: Server | None) -> None:
        where = f" at {server.url} (pid {server.pid})" if server else ""
        super().__init__(
            f"a tenantgate demo is already running{where} on this database: use it (it "
            "printed its credentials when it started), or stop it first"
        )
        self.line = f"error: {self}"


@contextlib.contextmanager
def announced(home: Path, url: str, database_url: str, *, demo: bool) -> Iterator[Server]:
    """Records this process as a server on ``home`` while the block runs."""
    folder = prepare(prepare(home) / "run")
    server = Server(os.getpid(), url, describe(database_url), demo, time.time())
    draft = folder / f".{server.pid}.json"
    with draft.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(json.dumps(asdict(server)))
        handle.flush()
        record = folder / f"{server.pid}.json"
        os.replace(draft, record)
        try:
            yield server
        finally:
            record.unlink(missing_ok=True)


def servers(home: Path, database_url: str | None = None) -> list[Server]:
    """The live servers on ``home`` (on ``database_url`` only, when given), oldest first;
    records left by servers that died are removed."""
    folder = home / "run"
    found = [s for path in sorted(folder.glob("[0-9]*.json")) if (s := _live(path))]
    if database_url is not None:
        found = [s for s in found if s.database == describe(database_url)]
    return sorted(found, key=lambda s: s.started_at)


def _live(path: Path) -> Server | None:
    try:
        handle = path.open()
    except FileNotFoundError:
        return None
    with handle:
        if _lock(handle, fcntl.LOCK_SH):
            path.unlink(missing_ok=True)  # its server is gone
            return None
        try:
            return Server(**json.loads(handle.read()))
        except (ValueError, TypeError):
            return None


def refuse_second_demo(home: Path, database_url: str) -> None:
    """Raises :class:`DemoRunning` if a demo runs on ``database_url``; writes nothing."""
    demos = [s for s in servers(home, database_url) if s.demo]
    if demos:
        raise DemoRunning(demos[0])


@contextlib.contextmanager
def only_demo(home: Path, database_url: str) -> Iterator[None]:
    """Holds the demo lock of ``database_url`` while the block runs, or raises
    :class:`DemoRunning` at once: of two demos started together, one runs."""
    digest = hashlib.sha256(describe(database_url).encode()).hexdigest()[:12]
    with (prepare(home) / f"demo-{digest}.lock").open("a") as handle:
        if not _lock(handle, fcntl.LOCK_EX):
            demos = [s for s in servers(home, database_url) if s.demo]
            raise DemoRunning(demos[0] if demos else None)
        yield


def _lock(handle: IO[str], kind: int) -> bool:
    try:
        fcntl.flock(handle, kind | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
