"""An operator keeps the registry in a YAML file: exports it, reviews the plan of a change with
--dry-run, applies it. Run as the operator runs it: the installed command, in a process of its
own, on a database of its own (the demo's, when the test says so)."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest
import yaml

from tenantgate.demo import ensure_demo
from tenantgate.services import Services
from tenantgate.settings import Settings
from tests.cli.shell import first_line, tenantgate

pytestmark = pytest.mark.slow
SECRET = "test-server-secret"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def tg(tmp_path: Path, home: Path, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return tenantgate(tmp_path, home, *args, stdin=stdin, home=str(home / "tg"), secret_key=SECRET)


def demo_database(tmp_path: Path, home: Path) -> None:
    assert tg(tmp_path, home, "migrate").returncode == 0
    settings = Settings(data_dir=home / "tg", secret_key=SECRET, admin_token="tga_x")

    async def make() -> None:
        services = Services.build(settings)
        await services.open(background=False)
        try:
            await ensure_demo(services, "http://127.0.0.1:8000")
        finally:
            await services.close()

    asyncio.run(make())


def test_the_demo_database_exports_and_plans_nothing(tmp_path, home):
    demo_database(tmp_path, home)
    exported = tg(tmp_path, home, "export")
    assert exported.returncode == 0, exported.stderr
    document = yaml.safe_load(exported.stdout)
    names = [a["name"] for a in document["applications"]]
    assert names == ["Demo integration", "Demo read-only integration"]
    assert "sdmo-reader" in str(document["tenants"][0].get("roles"))
    assert "tgs_" not in exported.stdout
    assert set(document["tenants"][0]["apps"]) == {"sdmo", "shopfloor"}

    planned = tg(tmp_path, home, "apply", "-f", "-", "--dry-run", "--prune", stdin=exported.stdout)
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.splitlines() == [
        "no changes: the registry matches the file",
        "dry run: nothing was changed",
    ]


def test_a_change_is_planned_then_applied_once(tmp_path, home):
    demo_database(tmp_path, home)
    document = yaml.safe_load(tg(tmp_path, home, "export").stdout)
    tenant = document["tenants"][0]
    tenant["name"] = "Demo tenant, renamed"
    del tenant["apps"]["shopfloor"]
    document["applications"].append({"name": "Billing sync"})
    tenant["api_users"].append({"application": "Billing sync", "apps": ["sdmo"]})
    file = tmp_path / "registry.yaml"
    file.write_text(yaml.safe_dump(document, sort_keys=False))

    dry = tg(tmp_path, home, "apply", "-f", str(file), "--dry-run", "--prune")
    assert dry.stdout.splitlines() == [
        'create application "Billing sync"',
        f'update tenant "Demo tenant, renamed" ({tenant["tenant_id"]}): '
        'name "Demo tenant" -> "Demo tenant, renamed"',
        f'create api user of "Billing sync" on tenant "Demo tenant, renamed" '
        f"({tenant['tenant_id']})",
        f'delete app shopfloor on tenant "Demo tenant, renamed" ({tenant["tenant_id"]})',
        "plan: 2 to create, 1 to update, 1 to delete",
        "dry run: nothing was changed",
    ]
    assert "delete app" not in tg(tmp_path, home, "apply", "-f", str(file), "--dry-run").stdout

    secrets = tmp_path / "secrets.json"
    applied = tg(tmp_path, home, "apply", "-f", str(file), "--prune", "--secrets-out", str(secrets))
    assert applied.returncode == 0, applied.stderr
    assert "applied 4 of 4 steps" in applied.stdout and "tgs_" not in applied.stdout
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    [secret] = json.loads(secrets.read_text())
    assert secret["name"] == "Billing sync" and secret["client_secret"].startswith("tgs_")

    again = tg(tmp_path, home, "apply", "-f", str(file), "--prune")
    assert again.stdout.splitlines() == ["no changes: the registry matches the file"]
    audit = json.loads(tg(tmp_path, home, "audit", "--json", "--limit", "10").stdout)
    assert {e["actor"] for e in audit[:4]} == {"apply"}


def test_new_secrets_are_printed_once_without_a_secrets_file(tmp_path, home):
    file = tmp_path / "new.yaml"
    file.write_text("applications:\n  - name: Printed\n")
    applied = tg(tmp_path, home, "apply", "-f", str(file))
    assert applied.returncode == 0, applied.stderr
    last = applied.stdout.splitlines()[-1]
    assert last.startswith('secret of application "Printed" (') and "client_secret tgs_" in last
    assert "tgs_" not in tg(tmp_path, home, "apply", "-f", str(file)).stdout


def test_a_file_with_problems_is_refused_whole_with_their_lines(tmp_path, home):
    file = tmp_path / "bad.yaml"
    file.write_text(
        "applications:\n"
        "  - name: Fresh app\n"
        "    colour: blue\n"
        "tenants:\n"
        "  - name: Newco\n"
        "    region: EU\n"
        "    apps:\n"
        "      sdmo: {graphql_url: 'ftp://upstream'}\n"
    )
    refused = tg(tmp_path, home, "apply", "-f", str(file))
    assert refused.returncode == 2
    assert first_line(refused.stderr) == f"{file}:3: applications[0].colour: unknown field"
    assert refused.stderr.splitlines()[1:] == [
        f"{file}:6: tenants[0].region: region must be lower-case letters, digits and '-', "
        "at most 64",
        f"{file}:8: tenants[0].apps.sdmo.graphql_url: graphql_url must be an absolute http or "
        "https URL",
        f"error: {file}: 3 problems; nothing was changed",
    ]
    assert refused.stdout == ""
    assert yaml.safe_load(tg(tmp_path, home, "export").stdout)["applications"] == []


def test_what_the_registry_does_not_have_is_refused_before_any_write(tmp_path, home):
    file = tmp_path / "refs.yaml"
    file.write_text(
        "applications:\n"
        "  - name: Would be made\n"
        "tenants:\n"
        "  - tenant_id: nosuchtenant\n"
        "    name: Gone\n"
        "  - name: Newco\n"
        "    api_users:\n"
        "      - application_id: 42\n"
    )
    refused = tg(tmp_path, home, "apply", "-f", str(file))
    assert refused.returncode == 2
    assert first_line(refused.stderr) == (
        f"{file}:4: tenants[0].tenant_id: no tenant nosuchtenant "
        "(leave tenant_id out to create one)"
    )
    assert f"{file}:8: tenants[1].api_users[0].application_id: no application 42" in (
        refused.stderr
    )
    assert yaml.safe_load(tg(tmp_path, home, "export").stdout)["applications"] == []


@pytest.mark.parametrize(
    ("text", "first"),
    [
        (
            "tenants:\n  - name: [unclosed\n",
            "{file}:3: not valid YAML: did not find expected ',' or ']'",
        ),
        ("tenants: []\ntenants: []\n", "{file}:2: tenants: given twice"),
        (
            "a: &x [1]\nb: *x\n",
            "{file}:2: b: anchors and aliases are not accepted: write the value out",
        ),
        ("- a list\n", "{file}:1: the document must be a mapping"),
    ],
)
def test_a_file_that_is_not_a_registry_is_refused(tmp_path, home, text, first):
    file = tmp_path / "odd.yaml"
    file.write_text(text)
    refused = tg(tmp_path, home, "apply", "-f", str(file))
    assert (refused.returncode, first_line(refused.stderr)) == (2, first.format(file=file))


def test_a_missing_file_is_one_line(tmp_path, home):
    refused = tg(tmp_path, home, "apply", "-f", "nowhere.yaml")
    assert (refused.returncode, refused.stderr) == (
        2,
        "error: nowhere.yaml: cannot be read: No such file or directory\n",
    )
