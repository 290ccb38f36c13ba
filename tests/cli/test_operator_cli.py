"""An operator scripts the registry from a shell, with --json output."""

import json

import pytest
from typer.testing import CliRunner

from tenantgate.cli import app


@pytest.fixture
def cli(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("TENANTGATE_DATABASE_URL", database_url)
    monkeypatch.setenv("TENANTGATE_SECRET_KEY", "test-server-secret")
    monkeypatch.setenv("TENANTGATE_DATA_DIR", str(tmp_path))
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    return invoke


def test_an_operator_registers_an_application_and_a_tenant_accepts_it(cli):
    created = json.loads(cli("app", "create", "Scripted app", "--json"))
    assert created["client_secret"].startswith("tgs_")
    tenant = json.loads(cli("tenant", "create", "--name", "Scripted", "--json"))
    cli("tenant", "app-set", tenant["tenant_id"], "sdmo", "http://127.0.0.1:9/graphql")
    user = json.loads(
        cli(
            "api-user",
            "accept",
            tenant["tenant_id"],
            created["application_id"],
            "--app",
            "sdmo",
            "--json",
        )
    )
    assert user["apps"] == ["sdmo"]
    assert user["email"].startswith(created["application_id"] + "@")

    disabled = json.loads(
        cli("api-user", "disable", tenant["tenant_id"], created["application_id"], "--json")
    )
    assert disabled["enabled"] is False
    events = json.loads(cli("audit", "--application", created["application_id"], "--json"))
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "api_user.disabled"
    assert "application.created" in kinds and "api_user.created" in kinds


def test_secret_rotation_and_key_rotation_from_the_shell(cli):
    created = json.loads(cli("app", "create", "Rotating", "--json"))
    second = json.loads(cli("app", "secret-add", created["application_id"], "--json"))
    assert second["client_secret"] != created["client_secret"]
    cli("app", "secret-retire", created["application_id"], created["secret_id"])
    shown = json.loads(cli("app", "get", created["application_id"], "--json"))
    retired = {s["secret_id"]: s["retired_at"] for s in shown["secrets"]}
    assert retired[created["secret_id"]] is not None
    assert retired[second["secret_id"]] is None
    assert created["client_secret"] not in json.dumps(shown)

    before = {k["kid"] for k in json.loads(cli("keys", "list", "--json")) if k["signing"]}
    cli("keys", "rotate")
    after = json.loads(cli("keys", "list", "--json"))
    signing = {k["kid"] for k in after if k["signing"]}
    assert signing and signing.isdisjoint(before)
    assert before <= {k["kid"] for k in after}


def test_the_lists_show_every_page(cli, monkeypatch):
    monkeypatch.setattr("tenantgate.registry.paging.MAX_LIMIT", 2)  # pages of two
    created = [json.loads(cli("app", "create", f"Listed {n}", "--json")) for n in range(5)]
    tenant = json.loads(cli("tenant", "create", "--name", "Listed", "--json"))["tenant_id"]
    for application in created:
        cli("api-user", "accept", tenant, application["application_id"])

    listed = [a["application_id"] for a in json.loads(cli("app", "list", "--json"))]
    users = json.loads(cli("api-user", "list", tenant, "--json"))
    events = json.loads(cli("audit", "--tenant", tenant, "--limit", "3", "--json"))
    plain = cli("api-user", "list", tenant)

    ids = [a["application_id"] for a in created]
    assert [i for i in listed if i in ids] == ids and len(listed) == len(set(listed))
    assert [u["application_id"] for u in users] == ids
    assert [e["kind"] for e in events] == ["api_user.created"] * 3
    assert [
        line.split()[1] for line in plain.splitlines() if line.startswith("application_id")
    ] == ids


def test_an_unknown_id_is_a_one_line_error_and_exit_1(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("TENANTGATE_DATABASE_URL", database_url)
    monkeypatch.setenv("TENANTGATE_SECRET_KEY", "test-server-secret")
    monkeypatch.setenv("TENANTGATE_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["app", "get", "999999999999"])
    assert result.exit_code == 1
    assert "no application" in result.output


async def test_ids_never_start_like_an_option(settings):
    """Random bytes that would spell '-' first (63 is '_', 62 is '-') still give ids that start
    with a letter or digit."""
    from itertools import cycle

    from tenantgate.clock import Randomness
    from tenantgate.services import Services

    stream = cycle([62, 63, 62, 7, 9, 11, 13])
    services = Services.build(
        settings, randomness=Randomness(token_bytes=lambda n: bytes(next(stream) for _ in range(n)))
    )
    await services.open(background=False)
    try:
        tenant = await services.registry.create_tenant("Dash", "eu", "cluster-release", "test")
        application, _ = await services.registry.create_application("Dash", "test")
    finally:
        await services.close()
    assert len(tenant.tenant_id) == 21 and tenant.tenant_id[0].isalnum()
    assert application.client_id[0].isalnum()
