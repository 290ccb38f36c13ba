"""``tenantgate``: run the server, and operate the registry from a shell."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import typer

from tenantgate.cli import _run, registry
from tenantgate.cli import audit as audit_cli
from tenantgate.cli import config as config_cli
from tenantgate.cli import refapp as refapp_cli
from tenantgate.cli import roles as roles_cli
from tenantgate.cli import status as status_cli
from tenantgate.cli import user as user_cli
from tenantgate.cli._run import run
from tenantgate.client import cli as client_cli

app = typer.Typer(
    help="tenantgate: app registry, OAuth2 Token API and GraphQL gateway.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(registry.apps, name="app")
app.add_typer(registry.tenants, name="tenant")
app.add_typer(registry.api_users, name="api-user")
app.add_typer(roles_cli.app, name="role")
app.add_typer(registry.keys, name="keys")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(refapp_cli.app, name="refapp")
app.add_typer(user_cli.app, name="user")
app.add_typer(client_cli.token_app, name="token")
app.command("graphql")(client_cli.graphql)
app.command("status")(status_cli.status)
app.command("export")(config_cli.export)
app.command("apply")(config_cli.apply)


@app.callback()
def options(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", help="Say which database and home folder are used (anywhere on the line)."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show the traceback when a command fails (anywhere too)."),
    ] = False,
) -> None:
    """Options every command takes."""
    _run.verbose = _run.verbose or verbose


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    demo: Annotated[bool, typer.Option(help="Create and print the demo setup.")] = False,
) -> None:
    """Run the server (Token API, gateway, admin API, console).

    It listens first: on a port it cannot have it stops (exit 4) before migrating, printing
    the admin token or touching the demo. SIGTERM (or Ctrl-C) stops accepting connections,
    lets requests in flight finish within TENANTGATE_SHUTDOWN_TIMEOUT, closes the database
    pools and exits 0; a second signal ends it at once."""
    from tenantgate.cli.server import start
    from tenantgate.settings import Settings

    if demo:
        os.environ["TENANTGATE_DEMO"] = "true"
        os.environ.setdefault("TENANTGATE_PUBLIC_URL", f"http://{_local(host)}:{port}")
    settings = Settings()
    _run.say_where(settings)
    start(settings, host, port, workers)


@app.command()
def demo(port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000) -> None:
    """Run everything on one laptop, with a demo tenant, application and credentials.

    A second run reuses the tenant and application of the first (with a new secret); while
    a demo runs on the same database, another is refused (exit 4)."""
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
    token = run(lambda s: s.admin_token.reset())
    typer.echo(token)


def _local(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::") else host


def main() -> None:
    """The command, with operator-readable failures: one line and exit status 2 for a bad
    setting, 3 for a database that cannot be reached, 4 for a server that cannot start here
    (``cli/failures.py``)."""
    from pydantic import ValidationError

    from tenantgate.cli import failures
    from tenantgate.cli.running import DemoRunning
    from tenantgate.cli.server import CannotListen

    debug = failures.debugging()
    for flag in ("--debug", "--verbose"):
        while flag in sys.argv[1:]:
            sys.argv.remove(flag)
            _run.verbose = _run.verbose or flag == "--verbose"
    try:
        app()
    except (CannotListen, DemoRunning) as error:
        if debug:
            traceback.print_exc()
        typer.echo(error.line, err=True)
        sys.exit(failures.EXIT_CANNOT_START)
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
