"""The command reads plainly: help without type markup, a one-line description on every
command and option, prompts without a made-up default, a taken e-mail refused before any
password is typed, and names printed as they were written."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tenantgate.cli import app
from tests.cli.shell import first_line, tenantgate

MARKUP = re.compile(r"<(bool|str|int|float|path|list\[[^]]*\])>|\{[a-z_]+\}")


def commands(command: Any = None, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    command = command or typer.main.get_command(app)
    yield " ".join(("tenantgate", *path)), command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


def summary(text: str | None) -> str:
    return (text or "").strip().split("\n\n")[0]


@pytest.mark.parametrize(("name", "command"), list(commands()), ids=lambda v: str(v))
def test_every_command_and_option_has_a_one_line_description(name, command):
    assert summary(command.help), f"{name} has no description"
    assert "\n" not in summary(command.help), f"{name}: the description is not one line"
    for param in command.params:
        if param.name != "help":
            assert getattr(param, "help", None), f"{name} {param.name} has no description"


def test_help_shows_no_type_markup():
    runner = CliRunner()
    for name, _ in commands():
        shown = runner.invoke(app, [*name.split()[1:], "--help"], terminal_width=100)
        assert shown.exit_code == 0, name
        assert not MARKUP.search(shown.output), f"{name} --help:\n{shown.output}"


@pytest.mark.slow
def test_the_installed_command_renders_help_plainly(tmp_path):
    shown = tenantgate(tmp_path, tmp_path, "graphql", "--help", COLUMNS="100")

    assert shown.returncode == 0
    assert "Usage: tenantgate graphql [OPTIONS] QUERY" in shown.stdout
    assert not MARKUP.search(shown.stdout)


def test_the_password_prompt_shows_no_default(tmp_path):
    env = {"TENANTGATE_HOME": str(tmp_path), "TENANTGATE_SECRET_KEY": "test-server-secret"}
    result = CliRunner(env=env).invoke(
        app,
        ["user", "create", "--email", "prompt@example.com"],
        input="a long password\na long password\n",
    )

    assert result.exit_code == 0, result.output
    assert result.output.startswith("Password: \nRepeat for confirmation: \n")
    assert "[]" not in result.output


@pytest.mark.slow
def test_a_taken_e_mail_is_refused_before_the_password_is_asked(tmp_path):
    typed = "a long password\na long password\n"
    first = tenantgate(
        tmp_path, tmp_path, "user", "create", "--email", "ops@example.com", stdin=typed
    )
    assert first.returncode == 0, first.stderr

    again = tenantgate(tmp_path, tmp_path, "user", "create", "--email", "OPS@example.com")

    assert again.returncode == 1
    assert first_line(again.stderr) == "error: An account with this e-mail already exists."
    assert "Password" not in again.stdout + again.stderr


@pytest.mark.slow
def test_a_bad_role_is_refused_before_the_password_is_asked(tmp_path):
    result = tenantgate(
        tmp_path, tmp_path, "user", "create", "--email", "x@example.com", "--role", "king"
    )

    assert result.returncode == 1
    assert first_line(result.stderr) == (
        "error: The role must be operator, developer or tenant_admin."
    )


@pytest.mark.slow
def test_names_are_printed_as_they_were_written(tmp_path):
    name = "Café … Zürich 東京"
    created = tenantgate(tmp_path, tmp_path, "app", "create", name, "--json")
    assert created.returncode == 0, created.stderr
    assert f'"name": "{name}"' in created.stdout

    listed = tenantgate(tmp_path, tmp_path, "app", "list")
    as_json = tenantgate(tmp_path, tmp_path, "app", "list", "--json")

    assert f"name             {name}" in listed.stdout
    assert '"hint": "tgs_' in listed.stdout and "…" in listed.stdout
    assert "\\u" not in listed.stdout + as_json.stdout
    assert name in [a["name"] for a in json.loads(as_json.stdout)]
