"""Running one registry operation from the command line, straight against the database.
Other running nodes pick the change up through the change feed."""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import Awaitable, Callable
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

if TYPE_CHECKING:
    from tenantgate.registry.paging import Page
    from tenantgate.services import Services
    from tenantgate.settings import Settings

T = TypeVar("T")
ACTOR = "cli"
verbose = False  # --verbose, anywhere on the command line (main() moves it to the front)


def run(operation: Callable[[Services], Awaitable[T]]) -> T:
    """The server's modules load here, not at import, so that the integrator commands
    (``tenantgate token``, ``tenantgate graphql``) start fast. Logs go to stderr, as the
    server's do, so that stdout holds only the command's answer (``--json | jq`` works);
    a one-shot command logs warnings and worse only, unless --verbose or
    TENANTGATE_LOG_LEVEL asks for more."""
    from tenantgate.errors import TenantgateError
    from tenantgate.home import prepare
    from tenantgate.logs import configure_logging
    from tenantgate.services import Services
    from tenantgate.settings import Settings

    async def main() -> T:
        settings = Settings()
        say_where(settings)
        configure_logging(quiet_level(settings), settings.log_format)
        prepare(settings.data_dir)
        services = Services.build(settings)
        try:  # closed even when opening fails, so no pool outlives the event loop
            await services.open(background=False)
            return await operation(services)
        finally:
            await services.close()

    try:
        return asyncio.run(main())
    except TenantgateError as error:
        typer.echo(f"error: {error.description}", err=True)
        raise typer.Exit(1) from None


def say_where(settings: Settings) -> None:
    """With --verbose, the database and home folder the command uses, on stderr."""
    from tenantgate.home import describe

    if not verbose:
        return
    echo(f"tenantgate: database {describe(settings.database_url)}, home {settings.data_dir}")
    if note := stray_database(settings):
        echo(f"tenantgate: note: {note}")


def stray_database(settings: Settings) -> str | None:
    """A word about a ``tenantgate.db`` in the current folder that is not the database in use:
    the default was the current folder before it was the home folder."""
    from tenantgate.home import DATABASE_FILE, sqlite_file

    here = Path.cwd() / DATABASE_FILE
    used = sqlite_file(settings.database_url)
    if not here.exists() or (used is not None and used.absolute() == here.absolute()):
        return None
    return f"{here} is not the database in use; to use it, TENANTGATE_DATABASE_URL=sqlite:///{here}"


def quiet_level(settings: Settings) -> str:
    if verbose or "log_level" in settings.model_fields_set:
        return settings.log_level
    return "warning"


def echo(line: str) -> None:
    typer.echo(line, err=True)


def plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def show(value: Any, as_json: bool) -> None:
    data = plain(value)
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict):
            for key, field in item.items():
                typer.echo(f"{key:16} {_text(field)}")
            typer.echo("")
        else:
            typer.echo(str(item))


Listing = Callable[["Services", str | None, int], Awaitable["Page[Any]"]]


def show_all(listing: Listing, as_json: bool, most: int | None = None) -> None:
    """Every page of a list (or its first ``most`` items), each printed as it is read: the
    command shows the whole list while holding one page. ``--json`` prints one JSON array,
    exactly as :func:`show` would."""
    from tenantgate.registry.paging import MAX_LIMIT

    async def each(services: Services) -> int:
        cursor, shown = None, 0
        while most is None or shown < most:
            want = MAX_LIMIT if most is None else min(MAX_LIMIT, most - shown)
            page = await listing(services, cursor, want)
            for item in page.items:
                _print(plain(item), as_json, first=shown == 0)
                shown += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return shown

    shown = run(each)
    if as_json:
        typer.echo("[]" if shown == 0 else "\n]")


def _print(item: Any, as_json: bool, *, first: bool) -> None:
    if as_json:
        text = textwrap.indent(json.dumps(item, indent=2, ensure_ascii=False), "  ")
        typer.echo(("[\n" if first else ",\n") + text, nl=False)
        return
    for key, field in item.items():
        typer.echo(f"{key:16} {_text(field)}")
    typer.echo("")


def _text(value: Any) -> str:
    if isinstance(value, list | dict):
        return json.dumps(plain(value), ensure_ascii=False)
    return "" if value is None else str(value)
