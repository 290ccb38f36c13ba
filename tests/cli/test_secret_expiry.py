"""An operator gives secrets a lifetime from the shell and finds those about to expire with
``tenantgate app list --expiring 30d``; a window it cannot read is one line and exit 2. Run as
the operator runs it: the installed command, in a process of its own."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from tenantgate.services import Services
from tenantgate.settings import Settings
from tenantgate.storage import models as m
from tests.cli.shell import tenantgate

pytestmark = pytest.mark.slow
SECRET = "test-server-secret"
DAY = 86400


@pytest.fixture
def tg(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    def run(*args: str):  # type: ignore[no-untyped-def]
        return tenantgate(tmp_path, tmp_path, *args, database_url=database_url, secret_key=SECRET)

    return run


def answer(result) -> object:  # type: ignore[no-untyped-def]
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def expire(database_url: str, tmp_path: Path, secret_id: str) -> None:
    """As if the secret's lifetime had passed: it expired a day ago."""
    settings = Settings(database_url=database_url, data_dir=tmp_path, secret_key=SECRET)
    services = Services.build(settings)
    async with services.db.begin() as session:
        await session.execute(
            update(m.ClientSecret)
            .where(m.ClientSecret.secret_id == secret_id)
            .values(expires_at=time.time() - DAY)
        )
    await services.db.dispose()


async def test_the_operator_finds_the_secrets_that_expire_soon(tg, database_url, tmp_path):
    soon = answer(tg("app", "create", "Soon", "--secret-expires-in-days", "10", "--json"))
    later = answer(tg("app", "create", "Later", "--secret-expires-in-days", "100d", "--json"))
    rotated = answer(
        tg("app", "secret-add", later["application_id"], "--expires-in-days", "5", "--json")
    )
    lapsed = answer(tg("app", "create", "Lapsed", "--json"))
    await expire(database_url, tmp_path, lapsed["secret_id"])
    mine = {soon["application_id"], later["application_id"], lapsed["application_id"]}

    listed = answer(tg("app", "list", "--expiring", "30d", "--json"))
    plain_days = answer(tg("app", "list", "--expiring", "30", "--json"))
    text = tg("app", "list", "--expiring", "30d")

    found = {e["secret_id"]: e for e in listed if e["application_id"] in mine}
    assert set(found) == {soon["secret_id"], rotated["secret_id"], lapsed["secret_id"]}
    assert found[soon["secret_id"]]["expires_at"] == soon["secret_expires_at"]
    assert found[rotated["secret_id"]]["expires_at"] == rotated["expires_at"]
    assert [found[s]["expired"] for s in (soon["secret_id"], lapsed["secret_id"])] == [False, True]
    assert {e["secret_id"] for e in plain_days} == {e["secret_id"] for e in listed}
    assert text.returncode == 0 and soon["secret_id"] in text.stdout and "expired" in text.stdout
    shown = answer(tg("app", "get", later["application_id"], "--json"))
    expiries = {s["secret_id"]: s["expires_at"] for s in shown["secrets"]}
    assert expiries == {
        later["secret_id"]: later["secret_expires_at"],
        rotated["secret_id"]: rotated["expires_at"],
    }


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("app", "list", "--expiring", "3w"), "--expiring"),
        (("app", "list", "--expiring", "-1"), "--expiring"),
        (("app", "list", "--expiring", "3651d"), "--expiring"),
        (("app", "create", "X", "--secret-expires-in-days", "0"), "--secret-expires-in-days"),
        (("app", "secret-add", "123", "--expires-in-days", "ninety"), "--expires-in-days"),
    ],
)
def test_a_window_it_cannot_read_is_one_line_and_exit_2(tg, args, option):
    result = tg(*args)

    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {option} ") and "30d" in lines[0]
