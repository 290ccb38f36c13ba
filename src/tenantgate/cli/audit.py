"""``tenantgate audit``: read the audit trail, or export it for a store that keeps it longer
than ``TENANTGATE_AUDIT_RETENTION_DAYS``."""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from tenantgate.cli import registry
from tenantgate.cli._run import run
from tenantgate.cli.registry import JSON

if TYPE_CHECKING:
    from tenantgate.services import Services


class Format(StrEnum):
    jsonl = "jsonl"


app = typer.Typer(
    help="The audit trail: newest first, or exported (audit export).",
    invoke_without_command=True,
)


@app.callback()
def listing(
    ctx: typer.Context,
    tenant: registry.TenantOption = None,
    application: registry.ApplicationOption = None,
    kind: Annotated[str | None, typer.Option(help="Exact kind or prefix*.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many events, newest first.")] = 50,
    json: JSON = False,
) -> None:
    """The audit trail, newest first."""
    if ctx.invoked_subcommand is None:
        registry.audit(tenant=tenant, application=application, kind=kind, limit=limit, json=json)


def moment(value: str) -> float:
    """An ISO 8601 date or date and time; without a zone, UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 date or date and time (2026-12-01, 2026-12-01T08:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


@app.command("export")
def export(
    since: Annotated[str, typer.Option(help="From this ISO 8601 date or time (UTC if no zone).")],
    until: Annotated[str | None, typer.Option(help="Up to (not including) this time.")] = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="jsonl: one JSON event a line.")
    ] = Format.jsonl,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Every event from --since, oldest first, one JSON object a line, read a page at a time."""
    start, end = moment(since), (moment(until) if until else None)
    stream = output.open("wb") if output else sys.stdout.buffer

    async def dump(services: Services) -> int:
        from tenantgate.registry.views import AuditView
        from tenantgate.storage.audit import export_audit

        written = 0
        async for row in export_audit(services.db, since=start, until=end):
            stream.write(orjson.dumps(asdict(AuditView.of(row))) + b"\n")
            written += 1
        return written

    try:
        written = run(dump)
    finally:
        stream.flush()
        if output:
            stream.close()
    if output:
        typer.echo(f"{written} events written to {output}", err=True)
