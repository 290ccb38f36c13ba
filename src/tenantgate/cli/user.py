"""``tenantgate user …``: console accounts from the command line, e.g. the first operator::

tenantgate user create --email ops@example.com --role operator
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tenantgate.cli._run import run

if TYPE_CHECKING:
    from tenantgate.services import Services

OPERATOR = "operator"

app = typer.Typer(
    help="Console accounts: operators, developers, tenant admins.", no_args_is_help=True
)


@app.command("create")
def create(
    email: Annotated[str, typer.Option(help="The e-mail to sign in with.")],
    role: Annotated[str, typer.Option(help="operator, developer or tenant_admin.")] = OPERATOR,
    password: Annotated[
        str | None,
        typer.Option(
            help="Asked for when left out (better: keeps it out of the shell history).",
            show_default=False,
        ),
    ] = None,
    tenant: Annotated[
        list[str] | None,
        typer.Option("--tenant", help="A tenant id a tenant admin administers; repeatable."),
    ] = None,
) -> None:
    """Create a console account.

    The e-mail and the role are checked, and an e-mail already taken refused, before the
    password is asked for."""
    from tenantgate.console import accounts

    address, role = run(lambda s: _available(s, email, role))
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    account = run(
        lambda s: accounts.create_account(s, address, password, role, tenant or [], actor="cli")
    )
    typer.echo(f"created {account.role_label.lower()} account {account.email}")


async def _available(services: Services, email: str, role: str) -> tuple[str, str]:
    """The e-mail, normalised, and the role, once both are valid and the e-mail is free."""
    from sqlalchemy import select

    from tenantgate.console import accounts
    from tenantgate.console.errors import Conflict
    from tenantgate.storage import models as m

    address, role = accounts.normalise_email(email), accounts.check_role(role)
    async with services.db.session() as session:
        if await session.scalar(select(m.Account.id).where(m.Account.email == address)):
            raise Conflict("An account with this e-mail already exists.")
    return address, role


@app.command("list")
def list_() -> None:
    """List console accounts."""
    from tenantgate.console import accounts

    for account in run(accounts.list_accounts):
        state = "disabled" if account.disabled else "enabled"
        tenants = ",".join(account.tenant_ids) or "-"
        typer.echo(f"{account.email:40} {account.role:13} {state:9} {tenants}")
