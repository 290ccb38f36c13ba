"""A tenant's roles from a shell: set (create or replace) with grants written
APP:OPERATIONS:FIELDS, read, list, give to an API user, and delete once nobody holds it.
Run as the operator runs it: the installed command, in a process of its own."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest

from tests.cli.shell import first_line, tenantgate

pytestmark = pytest.mark.slow

Shell = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def shell(database_url, tmp_path) -> Shell:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return tenantgate(
            tmp_path, tmp_path, *args, database_url=database_url, secret_key="test-server-secret"
        )

    return run


def answer(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def tenant(shell: Shell) -> str:
    made = answer(shell("tenant", "create", "--name", "Roles from a shell", "--json"))
    assert isinstance(made, dict)
    for app in ("sdmo", "shopfloor"):
        assert shell("tenant", "app-set", made["tenant_id"], app, f"http://h/{app}").returncode == 0
    return str(made["tenant_id"])


def test_an_operator_writes_a_role_and_gives_it_to_an_api_user(shell, tenant):
    role = answer(
        shell(
            "role", "set", tenant, "stock-reader",
            "--grant", "sdmo:query:stockLevels,items",
            "--grant", "shopfloor:subscription,query:*",
            "--description", "Reads stock",
            "--json",
        )
    )  # fmt: skip
    assert role == answer(shell("role", "get", tenant, "stock-reader", "--json"))
    assert role["description"] == "Reads stock"
    assert role["grants"] == [
        {"app": "sdmo", "operations": ["query"], "fields": ["items", "stockLevels"]},
        {"app": "shopfloor", "operations": ["query", "subscription"], "fields": ["*"]},
    ]
    shell("role", "set", tenant, "another", "--grant", "sdmo:mutation:adjustStock")
    listed = answer(shell("role", "list", tenant, "--json"))
    assert [r["name"] for r in listed] == ["another", "stock-reader"]

    application = answer(shell("app", "create", "Holder", "--json"))["application_id"]
    user = answer(
        shell("api-user", "accept", tenant, application, "--role", "stock-reader", "--json")
    )
    assert user["roles"] == ["stock-reader"]

    refused = shell("role", "delete", tenant, "stock-reader")
    assert refused.returncode == 1
    assert first_line(refused.stderr) == (
        f"error: the API user of application {application} holds this role"
    )
    deleted = shell("role", "delete", tenant, "another")
    assert deleted.returncode == 0
    assert deleted.stdout.strip() == f"deleted the role another of {tenant}"
    missing = shell("role", "get", tenant, "another")
    assert (missing.returncode, first_line(missing.stderr)) == (
        1,
        "error: this tenant has no such role",
    )


def test_a_grant_that_cannot_be_read_or_is_refused_is_one_line(shell, tenant):
    unreadable = shell("role", "set", tenant, "r", "--grant", "sdmo:query")
    assert unreadable.returncode == 2
    assert first_line(unreadable.stderr) == (
        "error: --grant 'sdmo:query': write APP:OPERATIONS:FIELDS, "
        "such as sdmo:query:items,stockLevels"
    )
    unknown_app = shell("role", "set", tenant, "r", "--grant", "erp:query:*")
    assert (unknown_app.returncode, first_line(unknown_app.stderr)) == (
        1,
        "error: grants[0].app: this tenant has no app 'erp'",
    )
    bad_operation = shell("role", "set", tenant, "r", "--grant", "sdmo:write:*")
    assert (bad_operation.returncode, first_line(bad_operation.stderr)) == (
        1,
        "error: grants[0].operations: 'write' is not an operation type",
    )
