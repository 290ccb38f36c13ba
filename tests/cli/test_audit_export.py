"""An operator exports the audit trail, oldest first, one JSON object a line, to keep it
longer than the retention period."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from tenantgate.cli import app


@pytest.fixture
def env(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("TENANTGATE_DATABASE_URL", database_url)
    monkeypatch.setenv("TENANTGATE_SECRET_KEY", "test-server-secret")
    monkeypatch.setenv("TENANTGATE_DATA_DIR", str(tmp_path))
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_export_writes_every_event_since_oldest_first_as_json_lines(env, tmp_path):
    since = datetime.fromtimestamp(time.time() - 1, UTC).isoformat()
    created = [
        json.loads(invoke(env, "app", "create", f"Exported {i}", "--json"))["application_id"]
        for i in range(3)
    ]

    out = tmp_path / "audit.jsonl"
    result = env.invoke(app, ["audit", "export", "--since", since, "--output", str(out)])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in out.read_text().splitlines()]
    mine = [
        e for e in events if e["application_id"] in created and e["kind"] == "application.created"
    ]
    assert [e["application_id"] for e in mine] == created
    assert all(e["count"] == 1 for e in mine)
    assert all(e["at"].endswith("Z") for e in events)
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert "events written to" in result.stderr

    to_stdout = invoke(env, "audit", "export", "--since", since, "--format", "jsonl")
    assert [json.loads(line) for line in to_stdout.splitlines()] == events
    # Other tests share the database, some with clocks set years ahead: of this test's own
    # events, none is after --since an hour from now.
    later = datetime.fromtimestamp(time.time() + 3600, UTC).isoformat()
    after = [
        json.loads(line) for line in invoke(env, "audit", "export", "--since", later).splitlines()
    ]
    assert not [e for e in after if e["application_id"] in created]
    assert all(e["at"] >= later[:19] for e in after)


def test_a_bad_date_is_a_usage_error(env):
    result = env.invoke(app, ["audit", "export", "--since", "last tuesday"])
    assert result.exit_code == 2
    assert "ISO 8601" in result.output


def test_audit_without_a_subcommand_still_lists(env):
    created = json.loads(invoke(env, "app", "create", "Listed", "--json"))
    events = json.loads(invoke(env, "audit", "--application", created["application_id"], "--json"))
    assert [e["kind"] for e in events] == ["secret.created", "application.created"]
