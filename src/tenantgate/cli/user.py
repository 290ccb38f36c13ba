"""``tenantgate user …``: console accounts from the command line, e.g. the first operator::

tenantgate user create --email ops@example.com --role operator
"""

from __future__ import annotations

from typing import Annotated

import typer

from tenantgate.cli._run import run

OPERATOR = "operator"

app = typer.Typer(
    help="Console accounts: operators, developers, tenant admins.", no_args_is_help=True
)


@app.command("create")
def create(
    email: Annotated[str, typer.Option(help="The e-mail to sign in with.")],
    role: Annotated[str, typer.Option(help="operator, developer or tenant_admin.")] = OPERATOR,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Asked for when left out (better: keeps it out of the shell history).",
        ),
    ] = "",
    tenant: Annotated[
        list[str] | None,
        typer.Option("--tenant", help="A tenant id a tenant admin administers; repeatable."),
    ] = None,
) -> None:
    """Create a console account."""
    from tenantgate.console import accounts

    account = run(
        lambda s: accounts.create_account(s, email, password, role, tenant or [], actor="cli")
    )
    typer.echo(f"created {account.role_label.lower()} account {account.email}")


@app.command("list")
def list_() -> None:
    """List console accounts."""
    from tenantgate.console import accounts

    for account in run(accounts.list_accounts):
        state = "disabled" if account.disabled else "enabled"
        tenants = ",".join(account.tenant_ids) or "-"
        typer.echo(f"{account.email:40} {account.role:13} {state:9} {tenants}")
