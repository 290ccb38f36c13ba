"""An operator who gets a setting or the database wrong reads one line that says what to
change, and gets a documented exit status: 2 for the configuration, 3 for a database that
cannot be reached. ``--debug`` adds the traceback. Run as the operator runs it: the installed
command, in a process of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_DSN

pytestmark = pytest.mark.slow


def tenantgate(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TENANTGATE_")}
    clean.update(TENANTGATE_SECRET_KEY="test-server-secret", TENANTGATE_DATA_DIR=str(tmp_path))
    clean.update({f"TENANTGATE_{k.upper()}": v for k, v in env.items()})
    command = [sys.executable, "-c", "from tenantgate.cli import main; main()", *args]
    return subprocess.run(
        command, env=clean, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("value", "problem"),
    [("abc", "valid integer"), ("5", "greater than or equal to 30"), ("90000", "less than")],
)
def test_a_bad_setting_is_one_line_naming_the_variable_and_the_range(tmp_path, value, problem):
    result = tenantgate(tmp_path, "app", "list", token_ttl=value)

    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("error: TENANTGATE_TOKEN_TTL=")
    assert problem in line and "(allowed: 30 to 86400)" in line


def test_a_database_that_refuses_is_one_line_and_exit_3(tmp_path):
    port = closed_port()
    url = f"postgresql://postgres@127.0.0.1:{port}/tenantgate"
    for command in (("app", "list"), ("serve", "--port", str(closed_port()))):
        result = tenantgate(tmp_path, *command, database_url=url)
        assert result.returncode == 3, result.stderr
        line = one_line(result)
        assert f"127.0.0.1:{port}" in line and "refused" in line


def test_a_missing_database_a_missing_driver_and_an_unknown_host(tmp_path):
    missing = PG_DSN.rsplit("/", 1)[0] + "/tenantgate_no_such_database"
    result = tenantgate(tmp_path, "app", "list", database_url=missing)
    assert result.returncode == 3
    assert "'tenantgate_no_such_database'" in one_line(result)
    assert "does not exist" in one_line(result)

    result = tenantgate(tmp_path, "app", "list", database_url="mysql://root@127.0.0.1/test")
    assert result.returncode == 2
    assert "TENANTGATE_DATABASE_URL" in one_line(result) and "driver" in one_line(result)

    unknown = "postgresql://postgres@no-such-host.invalid/tenantgate"
    result = tenantgate(tmp_path, "app", "list", database_url=unknown)
    assert result.returncode == 3
    assert "does not resolve" in one_line(result)


def test_debug_shows_the_traceback(tmp_path):
    result = tenantgate(tmp_path, "--debug", "app", "list", token_ttl="abc")

    assert result.returncode == 2
    assert "Traceback" in result.stderr
    assert "error: TENANTGATE_TOKEN_TTL=" in result.stderr


def test_a_sqlite_file_that_cannot_be_opened_is_one_line_and_exit_3(tmp_path):
    """The pools are closed even when opening fails: no thread reports into a closed loop."""
    url = f"sqlite:///{tmp_path}/no/such/folder/tenantgate.db"
    for command in (("app", "list"), ("serve", "--port", str(closed_port()))):
        result = tenantgate(tmp_path, *command, database_url=url)
        assert result.returncode == 3, result.stderr
        assert "cannot be opened" in one_line(result)
