"""Configuration as code: ``tenantgate export`` and ``tenantgate apply`` (docs/gitops.md).

``apply`` reads and checks the whole file before it opens the database: a file with problems
is refused with one ``FILE:LINE: path: message`` line per problem on stderr and exit status 2,
and nothing is read or written. Then it plans against the registry, prints the plan, and (but
with ``--dry-run``) applies it step by step; a step that fails stops it with exit status 1."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, NoReturn

import typer

from tenantgate.cli._run import run
from tenantgate.cli.failures import EXIT_CONFIGURATION

if TYPE_CHECKING:
    from tenantgate.registry.declared import InvalidDocument, Source
    from tenantgate.registry.reconcile import Plan
    from tenantgate.services import Services

ACTOR = "apply"
EXIT_REFUSED = 1


def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Write the registry as YAML: tenants, apps, roles, API users, applications (no secrets).

    Applying what it wrote plans nothing; docs/gitops.md shows the workflow."""
    from tenantgate.registry.declared import dump
    from tenantgate.registry.reconcile import export as document
    from tenantgate.registry.reconcile import read_current

    async def read(services: Services) -> str:
        return dump(document(await read_current(services)))

    text = run(read)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


def apply(
    file: Annotated[str, typer.Option("--file", "-f", help="The YAML file ('-': stdin).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and change nothing.")
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Delete the apps and API users of the file's tenants it omits."
        ),
    ] = False,
    secrets_out: Annotated[
        Path | None,
        typer.Option(
            "--secrets-out", help="Write new applications' secrets to this file (mode 0600)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Make the registry match a YAML file, printing the plan (create / update / delete).

    The whole file is checked first; deletes only with --prune; new applications' secrets
    are printed once, or written to --secrets-out."""
    from tenantgate.registry.declared import InvalidDocument, read_yaml

    text, name = _read(file)
    try:
        source = read_yaml(text, name)
    except InvalidDocument as exc:
        _refuse(exc)
    secrets = None if dry_run or secrets_out is None else _secrets_file(secrets_out)
    outcome, failure = run(lambda services: _plan_and_apply(services, source, dry_run, prune))
    if isinstance(outcome, InvalidDocument):
        _refuse(outcome)
    if as_json:
        typer.echo(json.dumps(outcome.as_dict(dry_run=dry_run), indent=2, ensure_ascii=False))
    else:
        _print(outcome, dry_run, shown=secrets is None)
    if secrets is not None:
        _write_secrets(secrets, outcome)
    if failure is not None:
        typer.echo(f"error: {failure}", err=True)
        raise typer.Exit(EXIT_REFUSED)


async def _plan_and_apply(
    services: Services, source: Source, dry_run: bool, prune: bool
) -> tuple[Plan | InvalidDocument, str | None]:
    from tenantgate.registry.declared import InvalidDocument
    from tenantgate.registry.reconcile import ApplyFailed, apply, plan, read_current

    try:
        the_plan = plan(source, await read_current(services), ACTOR, prune=prune)
    except InvalidDocument as exc:
        return exc, None
    if dry_run:
        return the_plan, None
    try:
        await apply(the_plan, services)
    except ApplyFailed as exc:
        return exc.plan, exc.description
    return the_plan, None


def _read(file: str) -> tuple[str, str]:
    if file == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        return Path(file).read_text(encoding="utf-8"), file
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        typer.echo(f"error: {file}: cannot be read: {reason}", err=True)
        raise typer.Exit(EXIT_CONFIGURATION) from None


def _refuse(exc: InvalidDocument) -> NoReturn:
    for line in exc.lines():
        typer.echo(line, err=True)
    count = len(exc.problems)
    typer.echo(
        f"error: {exc.source}: {count} problem{'s' if count > 1 else ''}; nothing was changed",
        err=True,
    )
    raise typer.Exit(EXIT_CONFIGURATION)


def _secrets_file(path: Path) -> IO[str]:
    """Opened before the apply, so that a path it cannot write stops it before any secret
    exists; created 0600 (and made so if it existed)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)
    except OSError as exc:
        typer.echo(f"error: --secrets-out {path}: cannot be written: {exc.strerror}", err=True)
        raise typer.Exit(EXIT_CONFIGURATION) from None
    return os.fdopen(descriptor, "w", encoding="utf-8")


def _write_secrets(out: IO[str], outcome: Plan) -> None:
    from dataclasses import asdict

    with out:
        out.write(json.dumps([asdict(s) for s in outcome.secrets], indent=2) + "\n")


def _print(outcome: Plan, dry_run: bool, *, shown: bool) -> None:
    for step in outcome.steps:
        typer.echo(step.line)
    typer.echo(outcome.summary)
    if dry_run:
        typer.echo("dry run: nothing was changed")
    elif outcome.steps:
        typer.echo(f"applied {outcome.applied} of {len(outcome.steps)} steps")
    for secret in outcome.secrets if shown else []:
        typer.echo(
            f'secret of application "{secret.name}" ({secret.application_id}): '
            f"client_id {secret.client_id} client_secret {secret.client_secret} (shown once)"
        )
