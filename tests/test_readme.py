"""The README's commands work as pasted: its quick start stays two commands, no command holds a
placeholder to fill in, and every ``tenantgate …`` it shows parses as the command does (the
whole walk, in a fresh shell from a clean clone, is done by hand before a release)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer

from tenantgate.cli import app

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```sh\n(.*?)```", README, re.DOTALL)


def invocations() -> list[list[str]]:
    """Every ``tenantgate …`` command line in the shell blocks, ``$(…)`` and pipes included."""
    found: list[list[str]] = []
    lines = [line for block in BLOCKS for line in block.replace("\\\n", " ").splitlines()]
    for line in lines:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        command: list[str] = []
        for token in [*lexer, ";"]:
            if token and set(token) <= set("();<>|&"):
                if command[:1] in (["tenantgate"], [".venv/bin/tenantgate"]):
                    found.append(command[1:])
                command = []
            else:
                command.append(token)
    return found


def test_the_quick_start_is_two_commands():
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)```", quick_start, re.DOTALL)
    assert [c.strip() for c in commands[:2]] == [
        "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/tenantgate demo",
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && "
        ".venv/bin/python -m pytest",
    ]
    assert ". .venv/bin/activate" in quick_start and "pipx install ." in quick_start


def test_no_command_holds_a_placeholder():
    for block in BLOCKS:
        assert not re.search(r"<[A-Z][A-Z _]*>|<urls\.", block), block


def test_every_tenantgate_command_in_it_parses(monkeypatch):
    for name in ("TOKEN_URL", "CLIENT_ID", "CLIENT_SECRET", "TENANT_ID"):  # the demo's export
        monkeypatch.setenv(f"TENANTGATE_{name}", "from-the-demo")
    root = typer.main.get_command(app)
    shown = invocations()
    assert len(shown) >= 15
    for args in shown:
        command, rest = root, list(args)
        while hasattr(command, "commands") and rest and rest[0] in command.commands:
            command = command.commands[rest.pop(0)]
        context = command.make_context("tenantgate", rest)  # raises on a bad option
        assert context.command is command
