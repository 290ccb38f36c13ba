"""One place for state: every command, run from any folder, uses the database and the secret
in the per-user home folder, says which with --verbose, and ``status`` reports what is there."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tenantgate.home import describe
from tenantgate.settings import Settings
from tests.cli.shell import first_line, tenantgate

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent.parent


def folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    one, two, home = tmp_path / "one", tmp_path / "two", tmp_path / "home"
    for folder in (one, two, home):
        folder.mkdir()
    return one, two, home


def test_commands_from_any_folder_share_the_database_in_the_data_home(tmp_path):
    one, two, home = folders(tmp_path)
    xdg = tmp_path / "xdg"

    created = tenantgate(one, home, "app", "create", "Shared", "--json", XDG_DATA_HOME=str(xdg))
    listed = tenantgate(two, home, "app", "list", "--json", XDG_DATA_HOME=str(xdg))

    assert created.returncode == 0, created.stderr
    application_id = json.loads(created.stdout)["application_id"]
    assert application_id in [a["application_id"] for a in json.loads(listed.stdout)]
    assert list(one.iterdir()) == [] and list(two.iterdir()) == []
    state = xdg / "tenantgate"
    assert sorted(p.name for p in state.iterdir()) == ["tenantgate-secret.key", "tenantgate.db"]
    assert stat.S_IMODE((state / "tenantgate-secret.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_without_xdg_data_home_it_is_under_local_share(tmp_path):
    one, _, home = folders(tmp_path)
    assert tenantgate(one, home, "migrate").returncode == 0
    assert (home / ".local" / "share" / "tenantgate" / "tenantgate.db").exists()


def test_verbose_says_which_database_and_home_anywhere_on_the_line(tmp_path):
    one, _, home = folders(tmp_path)
    state = tmp_path / "state"

    for args in (("--verbose", "app", "list"), ("app", "list", "--verbose")):
        result = tenantgate(one, home, *args, home=str(state))
        assert result.returncode == 0, result.stderr
        assert first_line(result.stderr) == (
            f"tenantgate: database {state}/tenantgate.db (SQLite), home {state}"
        )


def test_tenantgate_home_names_the_folder_and_data_dir_is_its_older_name(monkeypatch, tmp_path):
    for name in ("TENANTGATE_HOME", "TENANTGATE_DATA_DIR", "TENANTGATE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TENANTGATE_DATA_DIR", str(tmp_path / "old"))
    assert Settings().data_dir == tmp_path / "old"
    assert Settings().database_url == f"sqlite+aiosqlite:///{tmp_path}/old/tenantgate.db"

    monkeypatch.setenv("TENANTGATE_HOME", str(tmp_path / "new"))
    assert Settings().data_dir == tmp_path / "new"

    monkeypatch.setenv("TENANTGATE_DATABASE_URL", "sqlite:///elsewhere.db")
    assert Settings().database_url == "sqlite+aiosqlite:///elsewhere.db"


def test_status_of_a_home_with_nothing_yet_creates_nothing(tmp_path):
    one, _, home = folders(tmp_path)
    state = tmp_path / "state"

    result = tenantgate(one, home, "status", home=str(state))

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"database         {state}/tenantgate.db (SQLite)",
        f"home             {state}",
        "schema           none: the database does not exist yet (serve, demo or migrate "
        "creates it)",
        "server           none running on this database here",
    ]
    assert not state.exists()


def test_status_says_schema_keys_tenants_and_applications(tmp_path):
    one, _, home = folders(tmp_path)
    env = {"home": str(tmp_path / "state")}
    tenantgate(one, home, "app", "create", "Counted", **env)
    tenantgate(one, home, "tenant", "create", "--name", "Counted", **env)
    kid = json.loads(tenantgate(one, home, "keys", "list", "--json", **env).stdout)[0]["kid"]

    shown = tenantgate(one, home, "status", **env).stdout.splitlines()
    report = json.loads(tenantgate(one, home, "status", "--json", **env).stdout)

    assert shown[2].startswith("schema           ") and shown[2].endswith(" (up to date)")
    assert shown[3:6] == [
        f"signing keys     {kid} (signing)",
        "tenants          1",
        "applications     1",
    ]
    assert report["schema"] == report["schema_head"]
    assert [k["kid"] for k in report["keys"]] == [kid] and report["servers"] == []


def test_status_reads_postgresql_too(tmp_path, database_url):
    one, _, home = folders(tmp_path)
    env = {"database_url": database_url, "secret_key": "test-server-secret"}
    assert tenantgate(one, home, "migrate", **env).returncode == 0

    report = json.loads(tenantgate(one, home, "status", "--json", **env).stdout)

    assert report["schema"] == report["schema_head"] and report["tenants"] >= 0
    assert report["database"] == describe(database_url)


def test_the_database_is_named_without_its_password():
    assert describe("postgresql+asyncpg://ops:s3cret@db.internal:5432/tg") == (
        "postgresql://ops:***@db.internal:5432/tg"
    )
    assert describe("sqlite+aiosqlite:////var/lib/tg/tenantgate.db") == (
        "/var/lib/tg/tenantgate.db (SQLite)"
    )


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout"
)
def test_what_the_quick_start_writes_is_ignored_by_git():
    written = [".venv/", "tenantgate.db", "tenantgate-secret.key", "tenantgate.db-wal"]
    checked = subprocess.run(
        ["git", "check-ignore", "--no-index", *written], cwd=ROOT, capture_output=True, text=True
    )
    assert checked.stdout.split() == written
