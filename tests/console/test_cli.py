"""``tenantgate user create``: the first operator account, from the command line."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from tenantgate.cli.user import app
from tenantgate.console.accounts import authenticate
from tenantgate.services import Services
from tenantgate.settings import Settings


def test_the_first_operator_is_created_from_the_command_line(tmp_path):
    env = {
        "TENANTGATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db",
        "TENANTGATE_DATA_DIR": str(tmp_path),
        "TENANTGATE_SECRET_KEY": "cli-test-secret",
        "TENANTGATE_ADMIN_TOKEN": "tga_cli",
    }
    runner = CliRunner(env=env)
    result = runner.invoke(
        app,
        ["create", "--email", "Ops@Example.com", "--role", "operator"],
        input="an operator password\nan operator password\n",
    )
    assert result.exit_code == 0, result.output
    assert "created operator account ops@example.com" in result.output
    assert "an operator password" not in result.output

    again = runner.invoke(
        app, ["create", "--email", "ops@example.com", "--password", "another password"]
    )
    assert again.exit_code == 1
    assert "already exists" in again.output

    listed = runner.invoke(app, ["list"])
    assert "ops@example.com" in listed.output and "operator" in listed.output

    async def sign_in() -> bool:
        services = Services.build(Settings(**{k[11:].lower(): v for k, v in env.items()}))
        await services.open(background=False)
        try:
            return (
                await authenticate(services, "ops@example.com", "an operator password") is not None
            )
        finally:
            await services.close()

    assert asyncio.run(sign_in())
