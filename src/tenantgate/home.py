"""The home folder: where tenantgate keeps its state unless told otherwise — the SQLite
database (``tenantgate.db``), the server secret (``tenantgate-secret.key``) and the records of
the servers running on it (``run/``).

One folder per user rather than the current one, so that an operator command run from any
folder reads and writes the same database: ``$TENANTGATE_HOME`` when set, else
``$XDG_DATA_HOME/tenantgate``, else ``~/.local/share/tenantgate`` (the XDG Base Directory
default)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

DATABASE_FILE = "tenantgate.db"


def default_home() -> Path:
    data = os.environ.get("XDG_DATA_HOME", "")
    base = Path(data) if os.path.isabs(data) else Path.home() / ".local" / "share"
    return base / "tenantgate"


def default_database_url(home: Path) -> str:
    return f"sqlite+aiosqlite:///{home / DATABASE_FILE}"


def prepare(home: Path) -> Path:
    """The folder, created if missing, readable by its owner only (it holds the secret)."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return home


def describe(url: str) -> str:
    """The database as an operator recognises it: a SQLite file's path, or the URL without
    its password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"{parsed.database or ':memory:'} (SQLite)"
    plain = parsed.set(drivername=parsed.get_backend_name())
    return plain.render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL; None for any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)
