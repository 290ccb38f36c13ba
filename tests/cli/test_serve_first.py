"""A server that cannot serve changes nothing: ``serve`` and ``demo`` listen before they
migrate, print a secret or touch the demo, and a second demo never breaks the one running."""

from __future__ import annotations

import re
import socket

import httpx
import pytest

from tests.cli.shell import free_port, serving, tenantgate

pytestmark = pytest.mark.slow

BUSY = "the port is in use (stop what uses it, or choose another with --port)"


def demo_credentials(printed: str) -> dict[str, str]:
    fields = dict(
        re.findall(
            r"^  (application id|client id|client secret|tenant id) +: (\S+)", printed, re.MULTILINE
        )
    )
    return {name.replace(" ", "_"): value for name, value in fields.items()}


def token_status(url: str, credentials: dict[str, str]) -> int:
    form = {
        "grant_type": "client_credentials",
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
        "scope": f"tenantid:{credentials['tenant_id']}",
    }
    return httpx.post(f"{url}/v1/token", data=form, timeout=10).status_code


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_on_a_busy_port_it_stops_before_writing_anything(tmp_path, command):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = tenantgate(tmp_path, tmp_path, command, "--port", str(port))

    assert result.returncode == 4
    assert result.stderr.splitlines()[0] == f"error: cannot listen on 127.0.0.1:{port}: {BUSY}"
    assert result.stdout == ""  # no admin token, no demo secret
    assert list(tmp_path.iterdir()) == []  # no home folder, no database, no secret file


def test_a_second_demo_is_refused_and_the_first_keeps_working(tmp_path):
    with serving(tmp_path, tmp_path, "demo") as first:
        credentials = demo_credentials(first.stdout)
        refused = (
            f"error: a tenantgate demo is already running at {first.url} "
            f"(pid {first.process.pid}) on this database: use it (it printed its credentials "
            "when it started), or stop it first"
        )
        for port in (first.port, free_port()):
            again = tenantgate(tmp_path, tmp_path, "demo", "--port", str(port))
            assert again.returncode == 4
            assert again.stderr.splitlines()[0] == refused
            assert again.stdout == ""

        assert token_status(first.url, credentials) == 200
        status = tenantgate(tmp_path, tmp_path, "status").stdout
        assert f"server           {first.url} (pid {first.process.pid}, demo, since " in status

    with serving(tmp_path, tmp_path, "demo") as second:
        printed = second.stdout
        again = demo_credentials(printed)
        assert "Reusing the demo tenant and application made by an earlier run" in printed
        assert (again["application_id"], again["tenant_id"]) == (
            credentials["application_id"],
            credentials["tenant_id"],
        )
        assert token_status(second.url, again) == 200


def test_the_admin_token_is_printed_by_the_first_server_that_starts(tmp_path):
    assert tenantgate(tmp_path, tmp_path, "app", "list").returncode == 0  # makes the database
    assert "admin token" not in tenantgate(tmp_path, tmp_path, "migrate").stdout

    with serving(tmp_path, tmp_path, "serve", refapps="false") as server:
        lines = [line for line in server.stdout.splitlines() if "admin token" in line]
        assert len(lines) == 1 and lines[0].startswith("tenantgate: admin token (shown once")
        token = lines[0].rsplit(" ", 1)[1]
        answer = httpx.get(
            f"{server.url}/admin/v1/tenants", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200

    with serving(tmp_path, tmp_path, "serve", refapps="false") as restarted:
        assert "admin token" not in restarted.stdout
