"""``tenantgate refapp serve NAME``: run a reference app on its own."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def refapp() -> None:
    """Run the reference GraphQL apps (sdmo, shopfloor) that the gateway forwards to."""


@app.command("serve")
def serve_command(
    name: Annotated[str, typer.Argument(help="The app to run: sdmo or shopfloor.")],
    jwks_url: Annotated[
        str,
        typer.Option(help="URL of the issuer's JWKS.", envvar="TENANTGATE_REFAPP_JWKS_URL"),
    ],
    host: Annotated[
        str, typer.Option(help="Address to listen on.", envvar="TENANTGATE_REFAPP_HOST")
    ] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(
            help="Port to listen on; by default 8101 for sdmo, 8102 for shopfloor.",
            envvar="TENANTGATE_REFAPP_PORT",
            show_default=False,
        ),
    ] = None,
    audience: Annotated[
        str,
        typer.Option(help="Expected aud of access tokens.", envvar="TENANTGATE_REFAPP_AUDIENCE"),
    ] = "tenantgate",
    issuer: Annotated[
        str | None,
        typer.Option(
            help="Expected iss of access tokens (not checked when unset).",
            envvar="TENANTGATE_REFAPP_ISSUER",
        ),
    ] = None,
) -> None:
    """Serve one reference app over HTTP (GraphQL at /graphql and /api)."""
    from tenantgate.refapps.app import REFAPPS, serve

    kind = REFAPPS.get(name)
    if kind is None:
        raise typer.BadParameter(f"choose one of: {', '.join(REFAPPS)}", param_hint="NAME")
    serve(name, host, kind.default_port if port is None else port, jwks_url, audience, issuer)
