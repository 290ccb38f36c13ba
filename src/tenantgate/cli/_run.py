"""Running one registry operation from the command line, straight against the database.
Other running nodes pick the change up through the change feed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, is_dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import typer

if TYPE_CHECKING:
    from tenantgate.services import Services

T = TypeVar("T")
ACTOR = "cli"


def run(operation: Callable[[Services], Awaitable[T]]) -> T:
    """The server's modules load here, not at import, so that the integrator commands
    (``tenantgate token``, ``tenantgate graphql``) start fast."""
    from tenantgate.console.errors import ConsoleError
    from tenantgate.registry.errors import RegistryError
    from tenantgate.services import Services
    from tenantgate.settings import Settings

    async def main() -> T:
        services = Services.build(Settings())
        await services.open(background=False)
        try:
            return await operation(services)
        finally:
            await services.close()

    try:
        return asyncio.run(main())
    except (RegistryError, ConsoleError) as error:
        typer.echo(f"error: {error.description}", err=True)
        raise typer.Exit(1) from None


def plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def show(value: Any, as_json: bool) -> None:
    data = plain(value)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict):
            for key, field in item.items():
                typer.echo(f"{key:16} {_text(field)}")
            typer.echo("")
        else:
            typer.echo(str(item))


def _text(value: Any) -> str:
    if isinstance(value, list | dict):
        return json.dumps(plain(value))
    return "" if value is None else str(value)
