"""Fault injection for tests: a throwaway PostgreSQL cluster that can be frozen and stopped
(``PgCluster``), a TCP proxy that can drop, reset, delay or hold back a COMMIT on the way to
PostgreSQL (``TcpProxy``), and tenantgate server processes (``Node``).

Everything here only ever signals processes it started itself: the shared PostgreSQL on
127.0.0.1:5432 is never touched, only used as an upstream for proxies.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import asyncpg
import httpx
import pytest

from tests.conftest import ADMIN_TOKEN

T = TypeVar("T")

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_OS_USER = "postgres"
NODE_SECRET_KEY = "fault-harness-shared-server-secret"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the usual bind-to-0 probe)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_async(make: Callable[[], Coroutine[Any, Any, T]], timeout: float = 30.0) -> T:
    """Run a coroutine to completion in a fresh event loop of its own thread, so that sync code
    can call asyncpg whether or not the calling thread already runs a loop."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(make())
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, name="fault-run-async", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"the coroutine did not finish in {timeout} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def create_database(dsn: str, name: str) -> None:
    """``CREATE DATABASE name`` on the server of ``dsn`` (an asyncpg DSN)."""

    async def create() -> None:
        connection = await asyncpg.connect(dsn, timeout=10)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    run_async(create)


def drop_database(dsn: str, name: str) -> None:
    """``DROP DATABASE IF EXISTS name WITH (FORCE)`` on the server of ``dsn``."""

    async def drop() -> None:
        connection = await asyncpg.connect(dsn, timeout=10)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    run_async(drop)


def sqlalchemy_url(host: str, port: int, database: str) -> str:
    """The ``postgresql+asyncpg://`` URL tenantgate takes as TENANTGATE_DATABASE_URL."""
    return f"postgresql+asyncpg://postgres@{host}:{port}/{database}"


# --------------------------------------------------------------------------------------------
# PgCluster
# --------------------------------------------------------------------------------------------


def _parent_pids() -> dict[int, int]:
    """pid -> ppid of every process, read from /proc/<pid>/stat."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
    return parents


def _descendants(root: int) -> list[int]:
    """Every process below ``root`` in the process tree, parents before children."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _parent_pids().items():
        children.setdefault(ppid, []).append(pid)
    found: list[int] = []
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop(0)
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


class PgCluster:
    """A PostgreSQL 15 cluster of the test's own, in a temporary directory, on a free port of
    127.0.0.1; made with ``initdb`` and run with ``pg_ctl`` as the ``postgres`` OS user.

    It can be frozen (SIGSTOP of the postmaster and its children: a hung database), thawed,
    stopped and started again on the same port. ``destroy()`` (also the context-manager exit)
    leaves no process and no directory behind."""

    def __init__(self, bin_dir: Path = PG_BIN, os_user: str = PG_OS_USER) -> None:
        self.bin_dir = bin_dir
        self.os_user = os_user
        self.root: Path | None = None
        self._port: int | None = None
        self._frozen: list[int] = []

    # -- paths and addresses ----------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        assert self.root is not None, "the cluster has not been created"
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        assert self.root is not None, "the cluster has not been created"
        return self.root / "postgres.log"

    @property
    def port(self) -> int:
        assert self._port is not None, "the cluster has not been started"
        return self._port

    @property
    def dsn(self) -> str:
        """asyncpg DSN of the ``postgres`` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn_for(self, database: str) -> str:
        """asyncpg DSN of ``database``."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def sqlalchemy_url(self, database: str) -> str:
        """TENANTGATE_DATABASE_URL of ``database`` on this cluster."""
        return sqlalchemy_url("127.0.0.1", self.port, database)

    @property
    def frozen(self) -> bool:
        return bool(self._frozen)

    @property
    def frozen_pids(self) -> tuple[int, ...]:
        """The processes ``freeze()`` stopped, postmaster first."""
        return tuple(self._frozen)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """initdb at the first call, then start the server and wait until it accepts
        connections. A later start reuses the port, so DSNs stay valid."""
        if self.root is None:
            self._initdb()
        if self.postmaster_pid() is not None:
            return
        if self._port is not None:
            self._pg_ctl_start(self._port)
            return
        error: Exception | None = None
        for _ in range(3):  # a free port may be taken between the probe and the bind
            port = free_port()
            try:
                self._pg_ctl_start(port)
            except RuntimeError as failure:
                error = failure
                continue
            self._port = port
            return
        raise RuntimeError(f"the cluster did not start: {error}")

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m mode -w``; thaws first, since a stopped process cannot shut down."""
        self.thaw()
        if self.postmaster_pid() is None:
            return
        self._as_os_user(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"
        )

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every process below it: connections are still accepted
        by the kernel, but nothing answers."""
        postmaster = self.postmaster_pid()
        if postmaster is None or self._frozen:
            return
        _signal(postmaster, signal.SIGSTOP)  # first, so that it forks no new backend
        self._frozen.append(postmaster)
        while new := [pid for pid in _descendants(postmaster) if pid not in self._frozen]:
            for pid in new:
                _signal(pid, signal.SIGSTOP)
                self._frozen.append(pid)

    def thaw(self) -> None:
        """SIGCONT exactly the processes ``freeze()`` stopped."""
        for pid in reversed(self._frozen):
            _signal(pid, signal.SIGCONT)
        self._frozen.clear()

    def destroy(self) -> None:
        """Thaw, stop (SIGKILL of its own processes if a clean stop fails), remove the
        directory. Safe to call more than once and on a cluster that never started."""
        if self.root is None:
            return
        try:
            self.thaw()
            try:
                self.stop("fast")
            except (RuntimeError, subprocess.TimeoutExpired):
                postmaster = self.postmaster_pid()
                if postmaster is not None:
                    for pid in [postmaster, *_descendants(postmaster)]:
                        _signal(pid, signal.SIGKILL)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.destroy()

    # -- helpers -----------------------------------------------------------------------------

    def create_database(self, name: str) -> None:
        create_database(self.dsn, name)

    def drop_database(self, name: str) -> None:
        drop_database(self.dsn, name)

    def postmaster_pid(self) -> int | None:
        """PID of this cluster's running postmaster, or None. Read from its own
        postmaster.pid and checked against /proc/<pid>/cmdline, so a stale file can never
        name somebody else's process."""
        if self.root is None:
            return None
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        return pid if str(self.data_dir).encode() in command else None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _initdb(self) -> None:
        root = Path(tempfile.mkdtemp(prefix="tg-pg-"))
        shutil.chown(root, user=self.os_user)
        (root / "sock").mkdir()
        shutil.chown(root / "sock", user=self.os_user)
        self.root = root
        self._as_os_user(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        )

    def _pg_ctl_start(self, port: int) -> None:
        assert self.root is not None
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -k {self.root / 'sock'} "
            "-c fsync=off -c max_connections=200"
        )
        self._as_os_user(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def _as_os_user(self, *command: str) -> None:
        assert self.root is not None
        done = subprocess.run(
            ["runuser", "-u", self.os_user, "--", *command],
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{Path(command[0]).name} failed ({done.returncode}): "
                f"{done.stdout.decode(errors='replace')}{done.stderr.decode(errors='replace')}"
                f"\n{self.log_text()[-2000:]}"
            )


# --------------------------------------------------------------------------------------------
# PostgreSQL frontend framing
# --------------------------------------------------------------------------------------------

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_MAX_MESSAGE = 1 << 30


@dataclass(frozen=True)
class FrontendMessage:
    """One message a PostgreSQL client sent: ``kind`` is the type byte (``b"Q"``, ``b"P"``,
    ...) or ``b""`` for the untyped startup-phase messages; ``raw`` is the whole message as it
    was on the wire."""

    kind: bytes
    raw: bytes

    @property
    def sql(self) -> str | None:
        """The SQL text of a simple Query (``Q``) or a Parse (``P``) message, else None."""
        if self.kind == b"Q":
            text = self.raw[5:].split(b"\0", 1)[0]
        elif self.kind == b"P":
            parts = self.raw[5:].split(b"\0", 2)
            text = parts[1] if len(parts) > 1 else b""
        else:
            return None
        return text.decode("utf-8", errors="replace")


class FrontendParser:
    """Cuts the client-to-server byte stream into whole messages, whatever the chunking.

    The startup phase has no type byte (int32 length + payload); an SSLRequest or
    GSSENCRequest is followed by another untyped message. Anything that does not look like the
    protocol (TLS after an accepted SSLRequest, absurd lengths) turns the parser opaque: from
    then on bytes are handed back as they come, as one message of kind ``b"?"``."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._startup = True
        self.opaque = False

    def feed(self, data: bytes) -> list[FrontendMessage]:
        """Add ``data``; return the messages it completed (in order)."""
        if self.opaque:
            return [FrontendMessage(b"?", data)]
        self._buffer += data
        messages: list[FrontendMessage] = []
        while message := self._next():
            messages.append(message)
        if self.opaque and self._buffer:
            messages.append(FrontendMessage(b"?", bytes(self._buffer)))
            self._buffer.clear()
        return messages

    def _next(self) -> FrontendMessage | None:
        buffer = self._buffer
        if self._startup:
            if buffer and buffer[0] != 0:
                # A startup message is far shorter than 16 MiB, so its length's first byte
                # is 0; anything else is e.g. a TLS record after an accepted SSLRequest.
                self.opaque = True
                return None
            if len(buffer) < 8:
                return None
            length, code = struct.unpack("!II", buffer[:8])
            if not 8 <= length < _MAX_MESSAGE:
                self.opaque = True
                return None
            if len(buffer) < length:
                return None
            self._startup = code in (_SSL_REQUEST, _GSSENC_REQUEST)
            return self._cut(b"", length)
        if len(buffer) < 5:
            return None
        (length,) = struct.unpack("!I", buffer[1:5])
        if not 4 <= length < _MAX_MESSAGE:
            self.opaque = True
            return None
        if len(buffer) < length + 1:
            return None
        return self._cut(bytes(buffer[:1]), length + 1)

    def _cut(self, kind: bytes, size: int) -> FrontendMessage:
        raw = bytes(self._buffer[:size])
        del self._buffer[:size]
        return FrontendMessage(kind, raw)


# --------------------------------------------------------------------------------------------
# TcpProxy
# --------------------------------------------------------------------------------------------


class Mode(enum.Enum):
    PASS = "pass_through"
    BLACKHOLE = "blackhole"
    RESET = "reset"


class HeldCommit:
    """Handle of a ``TcpProxy.hold_commit`` trap: when the COMMIT was caught and when it was
    let through. Thread-safe to wait on."""

    def __init__(self, after: bytes, seconds: float) -> None:
        self.after = after
        self.seconds = seconds
        self.held_at: float | None = None
        self.released_at: float | None = None
        """``time.monotonic()`` right after the COMMIT bytes were written upstream."""
        self._held = threading.Event()
        self._released = threading.Event()

    def wait_held(self, timeout: float) -> bool:
        """True once the COMMIT has been caught (False on timeout)."""
        return self._held.wait(timeout)

    def wait_released(self, timeout: float) -> bool:
        """True once the held COMMIT has been written to PostgreSQL (False on timeout, or if
        the connection died while it was held)."""
        return self._released.wait(timeout)

    def _mark_held(self) -> None:
        self.held_at = time.monotonic()
        self._held.set()

    def _mark_released(self) -> None:
        self.released_at = time.monotonic()
        self._released.set()


@dataclass(eq=False)
class _Connection:
    """One proxied client connection and its upstream."""

    client_reader: asyncio.StreamReader
    client_writer: asyncio.StreamWriter
    upstream_reader: asyncio.StreamReader | None = None
    upstream_writer: asyncio.StreamWriter | None = None
    parser: FrontendParser = field(default_factory=FrontendParser)
    tainted: bool = False  # bytes were dropped: the protocol stream is corrupt

    def writers(self) -> list[asyncio.StreamWriter]:
        return [w for w in (self.client_writer, self.upstream_writer) if w is not None]


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST instead of a FIN: SO_LINGER on with timeout 0, then close."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _is_commit(message: FrontendMessage) -> bool:
    sql = message.sql
    return sql is not None and sql.lstrip().upper().startswith("COMMIT")


def _is_rollback(message: FrontendMessage) -> bool:
    sql = message.sql
    return sql is not None and sql.lstrip().upper().startswith("ROLLBACK")


class TcpProxy:
    """A TCP proxy on 127.0.0.1 in front of PostgreSQL, with switchable faults.

    It runs its own event loop in a daemon thread, so it keeps forwarding while the test's
    loop is busy or blocked; every public method is synchronous and thread-safe, and a mode
    switch has taken effect on every connection when the call returns.

    Modes: ``pass_through()`` (default), ``blackhole()``, ``reset()``, ``delay(seconds)``;
    and the one-shot trap ``hold_commit(after, seconds)``."""

    CHUNK = 65536

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.dropped = 0
        """Bytes dropped by blackhole()."""
        self.resets = 0
        """Connections closed with an RST by reset() or by pass_through() after blackhole()."""
        self._mode = Mode.PASS
        self._delay = 0.0
        self._trap: HeldCommit | None = None
        self._trap_connection: _Connection | None = None
        self._connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._port: int | None = None

    # -- public API --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._port is not None, "the proxy has not been started"
        return self._port

    @property
    def connections(self) -> int:
        """Open proxied connections (including blackholed ones)."""
        return len(self._connections)

    @property
    def mode(self) -> Mode:
        return self._mode

    def dsn(self, database: str = "postgres") -> str:
        """asyncpg DSN of ``database`` through this proxy."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def sqlalchemy_url(self, database: str) -> str:
        """TENANTGATE_DATABASE_URL of ``database`` through this proxy."""
        return sqlalchemy_url("127.0.0.1", self.port, database)

    def start(self) -> Self:
        """Listen on a free port of 127.0.0.1 (see ``port``)."""
        assert self._thread is None, "already started"
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="tcp-proxy", daemon=True)
        self._thread.start()
        self._call(self._listen())
        return self

    def stop(self) -> None:
        """Close the listener and every connection, stop the loop, join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self._call(self._shutdown())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            if not thread.is_alive():
                loop.close()
            self._loop = self._thread = None

    def pass_through(self) -> None:
        """Forward bytes both ways with no delay. Connections that lost bytes to a blackhole
        are closed abruptly (RST); new ones work normally."""
        self._call(self._switch(Mode.PASS, 0.0))

    def blackhole(self) -> None:
        """Forward nothing: connections old and new stay open, their bytes are dropped in both
        directions and no close is passed on, like a dead network path."""
        self._call(self._switch(Mode.BLACKHOLE, 0.0))

    def reset(self) -> None:
        """RST every open connection and, until the mode changes, every new one."""
        self._call(self._switch(Mode.RESET, 0.0))

    def delay(self, seconds: float) -> None:
        """Forward, but wait ``seconds`` before each chunk, in both directions."""
        self._call(self._switch(Mode.PASS, seconds))

    def hold_commit(self, after: bytes, seconds: float) -> HeldCommit:
        """Arm a one-shot trap: on the first connection whose client sends a message
        containing ``after``, hold the next COMMIT (a Query or Parse whose SQL starts with
        COMMIT) for ``seconds`` before forwarding it. Later bytes of that connection wait
        behind it; other connections are not affected. A ROLLBACK on the triggering
        connection disarms it for that connection and lets the next one trigger it."""
        held = HeldCommit(after, seconds)

        async def arm() -> None:
            self._trap, self._trap_connection = held, None

        self._call(arm())
        return held

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- loop side ---------------------------------------------------------------------------

    def _call(self, coroutine: Coroutine[Any, Any, None], timeout: float = 10.0) -> None:
        assert self._loop is not None, "the proxy has not been started"
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            for writer in connection.writers():
                writer.transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        self._connections.clear()

    async def _switch(self, mode: Mode, delay: float) -> None:
        self._mode, self._delay = mode, delay
        if mode is Mode.RESET:
            doomed = list(self._connections)
        elif mode is Mode.PASS:
            doomed = [c for c in self._connections if c.tainted]
        else:
            doomed = []
        for connection in doomed:
            self._abort(connection)

    def _abort(self, connection: _Connection) -> None:
        _rst(connection.client_writer)
        if connection.upstream_writer is not None:
            _rst(connection.upstream_writer)
        self._connections.discard(connection)
        self.resets += 1

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(reader, writer)
        if self._mode is Mode.RESET:
            _rst(writer)
            self.resets += 1
            return
        self._connections.add(connection)
        try:
            if self._mode is Mode.BLACKHOLE:
                connection.tainted = True  # no upstream at all: drop what the client sends
            else:
                try:
                    upstream = await asyncio.wait_for(
                        asyncio.open_connection(self.upstream_host, self.upstream_port), 10
                    )
                except (OSError, TimeoutError):
                    _rst(writer)
                    return
                connection.upstream_reader, connection.upstream_writer = upstream
            pumps = [self._client_to_server(connection)]
            if connection.upstream_reader is not None:
                pumps.append(self._server_to_client(connection))
            await asyncio.gather(*pumps)
        finally:
            self._connections.discard(connection)
            if self._trap_connection is connection:
                self._trap_connection = None
            for each in connection.writers():
                each.transport.abort()

    def _ended(self, connection: _Connection) -> None:
        """One direction ended: pass the close on, unless the path is 'dead'."""
        if self._mode is Mode.BLACKHOLE or connection.tainted:
            connection.tainted = True  # the close was lost too: the stream is not whole
            return
        for writer in connection.writers():
            writer.close()

    async def _forward(
        self,
        connection: _Connection,
        writer: asyncio.StreamWriter | None,
        data: bytes | bytearray,
        written: Callable[[], None] | None = None,
    ) -> bool:
        """Write ``data`` on ``writer`` (then call ``written``), or drop it if blackholed.
        False once the connection can no longer be written to."""
        if not data:
            return True
        if self._mode is Mode.BLACKHOLE or connection.tainted or writer is None:
            connection.tainted = True
            self.dropped += len(data)
            return True
        if writer.is_closing():
            return False
        writer.write(data)
        if written is not None:
            written()
        try:
            await writer.drain()
        except OSError:
            return False
        return True

    async def _client_to_server(self, connection: _Connection) -> None:
        try:
            while data := await connection.client_reader.read(self.CHUNK):
                if self._delay:
                    await asyncio.sleep(self._delay)
                pending = bytearray()
                for message in connection.parser.feed(data):
                    held = self._catch(connection, message)
                    if held is None:
                        pending += message.raw
                        continue
                    if not await self._forward(connection, connection.upstream_writer, pending):
                        return
                    pending = bytearray()
                    held._mark_held()
                    await asyncio.sleep(held.seconds)
                    if not await self._forward(
                        connection, connection.upstream_writer, message.raw, held._mark_released
                    ):
                        return
                if not await self._forward(connection, connection.upstream_writer, pending):
                    return
        except OSError:
            pass
        finally:
            self._ended(connection)

    def _catch(self, connection: _Connection, message: FrontendMessage) -> HeldCommit | None:
        """The trap to hold ``message`` for, if it is the COMMIT the trap waits for."""
        trap = self._trap
        if trap is None or self._mode is not Mode.PASS:
            return None
        if self._trap_connection is None:
            if trap.after in message.raw:
                self._trap_connection = connection
            return None
        if self._trap_connection is not connection:
            return None
        if _is_rollback(message):
            self._trap_connection = None
            return None
        if not _is_commit(message):
            return None
        self._trap = self._trap_connection = None
        return trap

    async def _server_to_client(self, connection: _Connection) -> None:
        assert connection.upstream_reader is not None
        try:
            while data := await connection.upstream_reader.read(self.CHUNK):
                if self._delay:
                    await asyncio.sleep(self._delay)
                if not await self._forward(connection, connection.client_writer, data):
                    return
        except OSError:
            pass
        finally:
            self._ended(connection)


# --------------------------------------------------------------------------------------------
# Node
# --------------------------------------------------------------------------------------------


def _env_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Node:
    """One ``uvicorn`` process of tenantgate on a port of its own, for multi-node tests.

    All nodes share ``NODE_SECRET_KEY`` and the test admin token. ``env`` keyword arguments are
    TENANTGATE_* settings by their lower-case name (``change_poll_interval="0.2"``). The
    process is only ever signalled by its own PID; the port stays the same across restarts."""

    def __init__(self, database_url: str, data_dir: Path, **env: object) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / f"node-{self.port}.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTGATE_")}
        settings: dict[str, object] = {
            "database_url": database_url,
            "data_dir": data_dir,
            "secret_key": NODE_SECRET_KEY,
            "admin_token": ADMIN_TOKEN,
            "refapps": False,
            "failure_limit": 100000,
            **env,
        }
        self.env.update({f"TENANTGATE_{k.upper()}": _env_value(v) for k, v in settings.items()})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 30.0) -> Self:
        """Start the process and wait until GET /healthz answers 200."""
        assert not self.alive, "the node is already running"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [  # ``tenantgate serve``, as an operator runs it (its SIGTERM handling too)
                    sys.executable,
                    "-c",
                    "from tenantgate.cli.main import main; main()",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the node exited at start:\n{self.log_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"the node did not start in {timeout} s:\n{self.log_text()[-3000:]}")

    def client(self, timeout: float = 10.0) -> httpx.Client:
        """A fresh httpx.Client on this node (close it, or use it in ``with``)."""
        return httpx.Client(base_url=self.base_url, timeout=timeout)

    def kill(self) -> None:
        """SIGKILL and wait: a crash with no shutdown at all."""
        if self.alive:
            assert self.process is not None
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self) -> subprocess.Popen[bytes]:
        """SIGTERM (a graceful shutdown); returns the Popen so the test can wait on it."""
        assert self.process is not None, "the node has not been started"
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
        return self.process

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit; its return code."""
        assert self.process is not None, "the node has not been started"
        return self.process.wait(timeout=timeout)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def close(self) -> None:
        """Kill the process if it is still alive."""
        self.kill()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Fixtures (exposed to tests/fault by its conftest.py)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PgCluster]:
    """A started PostgreSQL cluster of the module's own; destroyed at module teardown."""
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def make_proxy() -> Iterator[Callable[[str, int], TcpProxy]]:
    """``make_proxy(host, port)`` -> a started TcpProxy; all are stopped at teardown."""
    proxies: list[TcpProxy] = []

    def make(host: str, port: int) -> TcpProxy:
        proxy = TcpProxy(host, port)
        proxies.append(proxy)
        return proxy.start()

    try:
        yield make
    finally:
        for proxy in proxies:
            proxy.stop()


@pytest.fixture
def make_node(tmp_path: Path) -> Iterator[Callable[..., Node]]:
    """``make_node(database_url, start=True, **env)`` -> a Node with a data dir of its own
    under tmp_path, started unless ``start=False``; all are killed at teardown."""
    nodes: list[Node] = []

    def make(database_url: str, start: bool = True, **env: object) -> Node:
        node = Node(database_url, tmp_path / f"node{len(nodes)}", **env)
        nodes.append(node)
        return node.start() if start else node

    try:
        yield make
    finally:
        for node in nodes:
            node.close()
