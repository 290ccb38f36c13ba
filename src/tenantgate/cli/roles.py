"""``tenantgate role``: a tenant's roles, what each lets its API users do (docs/roles.md).

A grant is written ``APP:OPERATIONS:FIELDS``, each list comma-separated, ``*`` for every root
field: ``sdmo:query:items,stockLevels`` or ``shopfloor:query,subscription:*``."""

from __future__ import annotations

from typing import Annotated

import typer

from tenantgate.cli._run import ACTOR, run, show, show_all
from tenantgate.cli.failures import EXIT_USAGE
from tenantgate.cli.registry import JSON, TenantId

RoleName = Annotated[str, typer.Argument(help="The role's name, e.g. stock-reader.")]
GRANT_HELP = (
    "A grant, APP:OPERATIONS:FIELDS, e.g. sdmo:query:items,stockLevels or "
    "shopfloor:query,subscription:* (repeatable)."
)

app = typer.Typer(help="Roles: what a tenant's API users may do in its apps.", no_args_is_help=True)


def parse_grant(text: str) -> dict[str, object]:
    """``APP:OPERATIONS:FIELDS`` as the admin API's grant; the registry checks the names."""
    parts = text.strip().split(":")
    if len(parts) != 3 or not all(part.strip() for part in parts):
        typer.echo(
            f"error: --grant {text!r}: write APP:OPERATIONS:FIELDS, "
            "such as sdmo:query:items,stockLevels",
            err=True,
        )
        raise typer.Exit(EXIT_USAGE)
    app_name, operations, fields = parts
    return {"app": app_name.strip(), "operations": _list(operations), "fields": _list(fields)}


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


@app.command("set")
def role_set(
    tenant_id: TenantId,
    name: RoleName,
    grant: Annotated[list[str] | None, typer.Option(help=GRANT_HELP)] = None,
    description: Annotated[str, typer.Option(help="What the role is for.")] = "",
    json: JSON = False,
) -> None:
    """Create or replace a role with these grants (a replaced role keeps only these)."""
    grants = [parse_grant(text) for text in grant or []]
    view, _created = run(
        lambda s: s.registry.roles.put(
            tenant_id, name, ACTOR, grants=grants, description=description
        )
    )
    show(view, json)


@app.command("get")
def role_get(tenant_id: TenantId, name: RoleName, json: JSON = False) -> None:
    """One role and its grants."""
    show(run(lambda s: s.registry.roles.get(tenant_id, name)), json)


@app.command("list")
def role_list(tenant_id: TenantId, json: JSON = False) -> None:
    """Every role of the tenant, by name."""
    show_all(
        lambda s, cursor, limit: s.registry.roles.list(tenant_id, cursor=cursor, limit=limit),
        json,
    )


@app.command("delete")
def role_delete(tenant_id: TenantId, name: RoleName) -> None:
    """Delete a role; refused while an API user holds it."""
    run(lambda s: s.registry.roles.delete(tenant_id, name, ACTOR))
    typer.echo(f"deleted the role {name} of {tenant_id}")
