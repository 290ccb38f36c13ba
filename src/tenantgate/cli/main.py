"""``tenantgate``: run the server, and operate the registry from a shell."""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from typing import Annotated

import typer

from tenantgate.cli import audit as audit_cli
from tenantgate.cli import refapp as refapp_cli
from tenantgate.cli import registry
from tenantgate.cli import user as user_cli
from tenantgate.cli._run import run
from tenantgate.client import cli as client_cli

app = typer.Typer(
    help="tenantgate: app registry, OAuth2 Token API and GraphQL gateway. "
    "Add --debug to any command for a traceback when it fails.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(registry.apps, name="app")
app.add_typer(registry.tenants, name="tenant")
app.add_typer(registry.api_users, name="api-user")
app.add_typer(registry.keys, name="keys")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(refapp_cli.app, name="refapp")
app.add_typer(user_cli.app, name="user")
app.add_typer(client_cli.token_app, name="token")
app.command("graphql")(client_cli.graphql)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    demo: Annotated[bool, typer.Option(help="Create and print the demo setup.")] = False,
) -> None:
    """Run the server (Token API, gateway, admin API, console).

    SIGTERM (or Ctrl-C) stops accepting connections, lets requests in flight finish within
    TENANTGATE_SHUTDOWN_TIMEOUT, closes the database pools and exits 0; a second signal ends
    it at once."""
    import uvicorn

    from tenantgate.cli.server import GracefulServer
    from tenantgate.settings import Settings

    if demo:
        os.environ["TENANTGATE_DEMO"] = "true"
        os.environ.setdefault("TENANTGATE_PUBLIC_URL", f"http://{_local(host)}:{port}")
    settings = Settings()
    asyncio.run(_check_database(settings))  # one line and exit 3, before anything else
    options = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "loop": _available("uvloop", "auto"),
        "http": _available("httptools", "auto"),
        "access_log": False,
        "proxy_headers": False,
        "log_config": None,  # create_app configures logging, uvicorn's own records included
        "log_level": settings.log_level,
        "timeout_graceful_shutdown": max(1, round(settings.shutdown_timeout)),
    }
    if workers > 1:  # uvicorn's supervisor passes the signals on to the workers
        uvicorn.run("tenantgate.app:create_app", **options)  # type: ignore[arg-type]
        return
    GracefulServer(uvicorn.Config("tenantgate.app:create_app", **options)).run()  # type: ignore[arg-type]


@app.command()
def demo(port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000) -> None:
    """Run everything on one laptop, with a demo tenant, application and credentials."""
    serve(host="127.0.0.1", port=port, workers=1, demo=True)


@app.command()
def migrate() -> None:
    """Apply the database migrations (the server also does so at start)."""

    async def nothing(_services: object) -> None:
        return None

    run(nothing)
    typer.echo("database is up to date")


@app.command("admin-token")
def admin_token() -> None:
    """Make a new admin token; running servers drop the old one within a second."""
    token = run(lambda s: s.reset_admin_token())
    typer.echo(token)


async def _check_database(settings: object) -> None:
    from sqlalchemy import text

    from tenantgate.storage.database import Database

    url: str = settings.database_url  # type: ignore[attr-defined]
    db = Database(url, timeout=settings.database_timeout)  # type: ignore[attr-defined]
    try:
        async with db.engine.connect() as connection:  # not logged: main() says it in a line
            await connection.execute(text("SELECT 1"))
    finally:
        await db.dispose()


def _local(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::") else host


def _available(module: str, fallback: str) -> str:
    try:
        __import__(module)
    except ImportError:
        return fallback
    return module


def main() -> None:
    """The command, with operator-readable failures: one line and exit status 2 for a bad
    setting, 3 for a database that cannot be reached (``cli/failures.py``)."""
    from pydantic import ValidationError

    from tenantgate.cli import failures

    debug = failures.debugging()
    if "--debug" in sys.argv:
        sys.argv.remove("--debug")
    try:
        app()
    except ValidationError as error:
        if debug:
            traceback.print_exc()
        for line in failures.setting_lines(error):
            typer.echo(line, err=True)
        sys.exit(failures.EXIT_CONFIGURATION)
    except Exception as error:
        if not failures.is_database_failure(error):
            raise
        if debug:
            traceback.print_exc()
        line, status = failures.database_line(_database_url(), error)
        typer.echo(line, err=True)
        sys.exit(status)


def _database_url() -> str:
    from tenantgate.settings import Settings

    return Settings().database_url
