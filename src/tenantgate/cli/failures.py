"""What an operator reads when a command cannot run: one line that says what to change, and a
documented exit status (docs/settings.md, "Exit status").

- ``2``: the configuration is wrong (a setting that does not parse or is out of range, a
  database URL with no driver for it), or an option's value is (``--expiring 3w``);
- ``3``: a dependency cannot be reached (the database refuses, times out, rejects the
  credentials, or has no such database);
- ``4``: ``serve`` or ``demo`` cannot start here: it cannot listen on the address, or a demo
  already runs on the database (``cli/server.py``, ``cli/running.py``).

``--debug`` (or ``TENANTGATE_LOG_LEVEL=debug``) shows the traceback as well."""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

from pydantic import ValidationError

EXIT_CONFIGURATION = 2
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_CANNOT_START = 4


def setting_lines(error: ValidationError) -> list[str]:
    """One line per bad setting: the variable, the value, what is wrong, what is allowed."""
    from tenantgate.settings import Settings

    lines = []
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else ""
        variable = f"TENANTGATE_{name.upper()}" if name else "settings"
        message = str(problem["msg"]).removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
        allowed = _allowed(Settings.model_fields.get(name))
        value = problem.get("input")
        shown = f"={value!r}" if isinstance(value, str | int | float) and name else ""
        lines.append(f"error: {variable}{shown}: {message}{allowed}")
    return lines


def _allowed(field: Any) -> str:
    allowed = allowed_range(field) if field is not None else None
    return f" (allowed: {allowed})" if allowed else ""


def allowed_range(field: Any) -> str | None:
    """The range a numeric setting must be in, as the docs and the error line say it."""
    bounds = {type(m).__name__: m for m in field.metadata}
    low = next((getattr(bounds[k], k.lower()) for k in ("Ge", "Gt") if k in bounds), None)
    high = next((getattr(bounds[k], k.lower()) for k in ("Le", "Lt") if k in bounds), None)
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"{'at least' if 'Ge' in bounds else 'more than'} {low}"
    if high is not None:
        return f"{'at most' if 'Le' in bounds else 'less than'} {high}"
    return None


def database_line(url: str, error: BaseException) -> tuple[str, int]:
    """The line and exit status for a database that cannot be used."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"error: TENANTGATE_DATABASE_URL is not a database URL: {url!r}", (
            EXIT_CONFIGURATION
        )
    where = _where(parsed)
    causes = list(_chain(error))
    if any(isinstance(c, NoSuchModuleError | ModuleNotFoundError) for c in causes):
        backend = parsed.get_backend_name()
        return (
            f"error: TENANTGATE_DATABASE_URL: no driver for {backend!r} is installed "
            "(use sqlite:///path or postgresql://user@host/database)",
            EXIT_CONFIGURATION,
        )
    return f"error: database {where} {_why(causes)}", EXIT_UNREACHABLE


def _where(parsed: Any) -> str:
    if parsed.get_backend_name() == "sqlite":
        return f"file {parsed.database or ':memory:'}"
    host = parsed.host or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.database or ''!r} at {host}{port}"


def _chain(error: BaseException) -> Any:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = (
            orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
        )


def _why(causes: list[BaseException]) -> str:
    names = {type(c).__name__ for c in causes}
    text = " ".join(str(c) for c in causes).lower()
    if "InvalidCatalogNameError" in names or ("database" in text and "does not exist" in text):
        return "does not exist (create it, or fix the name in TENANTGATE_DATABASE_URL)"
    if names & {"InvalidPasswordError", "InvalidAuthorizationSpecificationError"} or (
        "authentication failed" in text
    ):
        return "refused the credentials (authentication failed)"
    if any(isinstance(c, socket.gaierror) for c in causes):
        return "cannot be found: the host name does not resolve"
    if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in text:
        return "refused the connection (is it running, on that port?)"
    if any(isinstance(c, TimeoutError) for c in causes) or "timeout" in text:
        return "did not answer in time (TENANTGATE_DATABASE_TIMEOUT)"
    if "unable to open database file" in text:
        return "cannot be opened (does the folder exist, and may tenantgate write there?)"
    last = causes[-1]
    return f"cannot be used: {type(last).__name__}: {str(last)[:200]}"


def is_database_failure(error: BaseException) -> bool:
    """Whether ``error`` is the database (or its URL) failing, not a bug elsewhere."""
    import sqlite3

    from sqlalchemy import exc

    from tenantgate.storage.database import DatabaseUnavailable

    kinds: tuple[type[BaseException], ...] = (
        DatabaseUnavailable,
        exc.DBAPIError,
        exc.NoSuchModuleError,
        exc.ArgumentError,
        sqlite3.OperationalError,
    )
    try:
        import asyncpg

        kinds += (asyncpg.PostgresError, asyncpg.InterfaceError)
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        pass
    network = (ConnectionError, socket.gaierror, TimeoutError)
    for cause in _chain(error):
        if isinstance(cause, kinds + network):
            return True
        if isinstance(cause, ModuleNotFoundError) and not (cause.name or "").startswith(
            "tenantgate"
        ):
            return True  # a database driver that is not installed
    return False


def debugging() -> bool:
    return "--debug" in sys.argv or os.environ.get("TENANTGATE_LOG_LEVEL", "").lower() == "debug"
