"""The uvicorn server that ``tenantgate serve`` runs, and the socket it listens on.

Two differences from uvicorn's own: any second SIGTERM or SIGINT ends it at once (uvicorn
forces the exit on a second SIGINT only, so an orchestrator that sends SIGTERM twice would
still wait for requests in flight), and a shutdown that completed exits with status 0 rather
than by raising the signal again, so that a supervisor can tell a clean stop (0) from a crash.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import logging
import signal
import socket
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from tenantgate.settings import Settings

log = logging.getLogger("uvicorn.error")


class GracefulServer(uvicorn.Server):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig in (signal.SIGTERM, signal.SIGINT):
            self.force_exit = True
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and sockets:  # uvicorn says where it listens only when it bound
            log.info("tenantgate listening on %s (Press CTRL+C to quit)", _address(sockets[0]))

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()  # stopped as asked: exit 0, not by the signal


class CannotListen(Exception):
    """The address cannot be listened on; ``line`` is what the operator reads."""

    def __init__(self, host: str, port: int, why: str) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {why}")
        self.line = f"error: {self}"


def listen(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """The listening socket, made before anything else so that a server which could not
    serve has changed nothing: no migration, no demo secret, no admin token printed. uvicorn
    is handed this socket, so there is no window between a check and the bind."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT is fine
    try:
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as error:
        sock.close()
        raise CannotListen(host, port, _why(error)) from error
    return sock


def _why(error: OSError) -> str:
    if isinstance(error, socket.gaierror):
        return "the host name does not resolve (--host)"
    reasons = {
        errno.EADDRINUSE: "the port is in use (stop what uses it, or choose another with --port)",
        errno.EACCES: "permission denied (ports below 1024 need privileges; choose another "
        "with --port)",
        errno.EADDRNOTAVAIL: "the address is not one of this machine's (--host)",
    }
    return reasons.get(error.errno or 0, error.strerror or str(error))


def start(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve until stopped, in this order: a demo already running on the database is left
    alone (exit 4), the listening socket (exit 4), the demo lock, the database check (one
    line and exit 3), the record of this server in the home folder; only then uvicorn,
    whose start migrates and prints. Nothing is written before the socket listens."""
    import asyncio

    from tenantgate.cli import running
    from tenantgate.home import prepare

    home, database = settings.data_dir, settings.database_url
    if settings.demo:
        running.refuse_second_demo(home, database)
    with contextlib.ExitStack() as stack:
        sock = stack.enter_context(listen(host, port))
        prepare(home)
        if settings.demo:
            stack.enter_context(running.only_demo(home, database))
        asyncio.run(check_database(settings, migrate=workers > 1))
        url = url_of(host, port)
        stack.enter_context(running.announced(home, url, database, demo=settings.demo))
        _serve(uvicorn.Config("tenantgate.app:create_app", **_options(settings, workers)), sock)


def _serve(config: uvicorn.Config, sock: socket.socket) -> None:
    if config.workers <= 1:
        GracefulServer(config).run(sockets=[sock])
        return
    from uvicorn.supervisors import Multiprocess  # its supervisor passes signals on

    log.info("tenantgate listening on %s with %d workers", _address(sock), config.workers)
    if "target" in inspect.signature(Multiprocess.__init__).parameters:  # uvicorn before 0.36
        Multiprocess(config, target=uvicorn.Server(config).run, sockets=[sock]).run()  # type: ignore[call-arg]
    else:
        Multiprocess(config, sockets=[sock]).run()


def _options(settings: Settings, workers: int) -> dict[str, Any]:
    return {
        "factory": True,
        "workers": workers,
        "loop": _available("uvloop", "auto"),
        "http": _available("httptools", "auto"),
        "access_log": False,
        "proxy_headers": False,
        "log_config": None,  # create_app configures logging, uvicorn's own records included
        "log_level": settings.log_level,
        "timeout_graceful_shutdown": max(1, round(settings.shutdown_timeout)),
    }


async def check_database(settings: Settings, *, migrate: bool = False) -> None:
    """The database answers (or main() says why in a line); with ``migrate``, its schema is
    brought up to date here, once, so that several workers do not race to create it (the
    migration lock is PostgreSQL's; SQLite has none)."""
    from sqlalchemy import text

    from tenantgate.storage.database import Database
    from tenantgate.storage.migrate import migrate as upgrade

    db = Database(settings.database_url, timeout=settings.database_timeout)
    try:
        async with db.engine.connect() as connection:  # not logged: main() says it in a line
            await connection.execute(text("SELECT 1"))
        if migrate:
            await upgrade(db)
    finally:
        await db.dispose()


def url_of(host: str, port: int) -> str:
    local = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    return f"http://[{local}]:{port}" if ":" in local else f"http://{local}:{port}"


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return url_of(host, port)


def _available(module: str, fallback: str) -> str:
    try:
        __import__(module)
    except ImportError:
        return fallback
    return module
