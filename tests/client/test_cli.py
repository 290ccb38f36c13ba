from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenantgate.client.cli import app

from .fakeserver import (
    CLIENT_ID,
    CLIENT_SECRET,
    STRANGER_TENANT,
    TENANT_ID,
    Answer,
    FakeServer,
    free_port,
)

runner = CliRunner()


@pytest.fixture
def env(server: FakeServer) -> dict[str, str]:
    return {
        "TENANTGATE_TOKEN_URL": server.token_url,
        "TENANTGATE_CLIENT_ID": CLIENT_ID,
        "TENANTGATE_CLIENT_SECRET": CLIENT_SECRET,
        "TENANTGATE_TENANT_ID": TENANT_ID,
    }


def test_token_get_prints_the_token_line_by_line(env: dict[str, str], server: FakeServer) -> None:
    result = runner.invoke(app, ["token", "get"], env=env)

    assert result.exit_code == 0, result.output
    lines = dict(line.split(":", 1) for line in result.stdout.splitlines())
    assert lines["tenant_id"].strip() == TENANT_ID
    assert lines["access_token"].strip() in server.state.issued
    assert lines["app sdmo"].strip().endswith("/v1/fwd/cluster-test/sdmo/api")
    assert server.state.invalidations == []


def test_token_get_json_prints_the_raw_answer(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["token", "get", "--json"], env=env)

    body = json.loads(result.stdout)
    assert body["token_type"] == "Bearer"
    assert set(body["urls"]["apps"]) == {"sdmo", "shopfloor"}


def test_options_stand_in_for_the_environment(server: FakeServer) -> None:
    options = ["--token-url", server.token_url, "--client-id", CLIENT_ID]
    options += ["--client-secret", CLIENT_SECRET, "--tenant-id", TENANT_ID]

    result = runner.invoke(app, ["token", "get", *options], env={})

    assert result.exit_code == 0, result.output


def test_token_invalidate_takes_the_token_as_an_argument(
    env: dict[str, str], server: FakeServer
) -> None:
    result = runner.invoke(app, ["token", "invalidate", "abc123"], env=env)

    assert result.exit_code == 0, result.output
    assert server.state.invalidations == ["accessToken=abc123"]


def test_token_invalidate_reads_token_get_json_from_stdin(
    env: dict[str, str], server: FakeServer
) -> None:
    got = runner.invoke(app, ["token", "get", "--json"], env=env).stdout

    result = runner.invoke(app, ["token", "invalidate"], input=got, env={})

    assert result.exit_code == 0, result.output
    assert server.state.invalidations == [f"accessToken={json.loads(got)['access_token']}"]
    assert server.state.issued == {}


def test_token_invalidate_without_a_token_is_a_usage_error(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["token", "invalidate"], input="", env=env)

    assert result.exit_code == 2
    assert "give the token" in result.stderr


def test_graphql_prints_data_and_invalidates_its_token(
    env: dict[str, str], server: FakeServer, tmp_path: Path
) -> None:
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"first": 1, "site": "LYON"}))
    args = ["graphql", "--app", "sdmo", "query($first: Int) { a }", "--vars-file", str(vars_file)]
    args += ["--var", "first=5", "--var", "name=Ada", "--var", 'tags=["x"]']

    result = runner.invoke(app, args, env=env)

    assert result.exit_code == 0, result.output
    echo = json.loads(result.stdout)["echo"]
    assert echo["variables"] == {"first": 5, "site": "LYON", "name": "Ada", "tags": ["x"]}
    assert len(server.state.invalidations) == 1


def test_graphql_reads_the_document_from_stdin(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["graphql", "--app", "sdmo", "-"], input="{ b }", env=env)

    assert json.loads(result.stdout)["echo"]["query"] == "{ b }"


@pytest.mark.parametrize(
    "args",
    [
        ["graphql", "--app", "sdmo", "{ a }", "--var", "no-equals-sign"],
        ["graphql", "--app", "sdmo", "{ a }", "--vars-file", "/nonexistent.json"],
        ["graphql", "{ a }"],
        ["token", "frobnicate"],
    ],
)
def test_usage_errors_exit_2(env: dict[str, str], args: list[str]) -> None:
    assert runner.invoke(app, args, env=env).exit_code == 2


def test_missing_settings_exit_2() -> None:
    result = runner.invoke(app, ["token", "get"], env={"TENANTGATE_TOKEN_URL": ""})

    assert result.exit_code == 2


def test_bad_credentials_exit_3_with_one_line(env: dict[str, str]) -> None:
    env["TENANTGATE_CLIENT_SECRET"] = "wrong"

    result = runner.invoke(app, ["token", "get"], env=env)

    assert result.exit_code == 3
    assert result.stderr == (
        "tenantgate: invalid_client: the client credentials were not accepted\n"
    )


def test_a_tenant_that_has_not_accepted_the_app_exits_4(env: dict[str, str]) -> None:
    env["TENANTGATE_TENANT_ID"] = STRANGER_TENANT

    result = runner.invoke(app, ["graphql", "--app", "sdmo", "{ a }"], env=env)

    assert result.exit_code == 4
    assert result.stderr.startswith("tenantgate: access_denied")


def test_network_down_exits_5(env: dict[str, str]) -> None:
    env["TENANTGATE_TOKEN_URL"] = f"http://127.0.0.1:{free_port()}/v1/token"

    result = runner.invoke(app, ["token", "get"], env=env)

    assert result.exit_code == 5
    assert result.stderr.startswith("tenantgate: cannot reach http://127.0.0.1:")


def test_graphql_errors_exit_6(env: dict[str, str], server: FakeServer) -> None:
    error = {"message": "upstream refused", "extensions": {"code": "BAD_GATEWAY"}}
    server.state.gateway_script.append(Answer(502, {"errors": [error]}))

    result = runner.invoke(app, ["graphql", "--app", "sdmo", "{ a }"], env=env)

    assert result.exit_code == 6
    assert result.stderr == "tenantgate: upstream refused (HTTP 502, request id req-1)\n"


def test_other_errors_exit_1(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["graphql", "--app", "crm", "{ a }"], env=env)

    assert result.exit_code == 1
    assert "'crm' is not available" in result.stderr
