import subprocess
import sys
from pathlib import Path

from tenantgate.settings import Settings

ROOT = Path(__file__).parent.parent


def test_plain_database_urls_get_the_async_driver():
    assert (
        Settings(database_url="postgresql://u@h/db").database_url == "postgresql+asyncpg://u@h/db"
    )
    assert Settings(database_url="sqlite:///x.db").database_url == "sqlite+aiosqlite:///x.db"


def test_every_setting_has_a_description_and_is_in_the_docs():
    for name, field in Settings.model_fields.items():
        assert field.description, name
    check = [sys.executable, str(ROOT / "scripts" / "settings_doc.py"), "--check"]
    assert subprocess.run(check).returncode == 0, "run: python scripts/settings_doc.py"


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TENANTGATE_TOKEN_TTL", "300")
    monkeypatch.setenv("TENANTGATE_REGION_URLS", '{"na": "https://api.na.example.com"}')
    settings = Settings()
    assert settings.token_ttl == 300
    assert settings.region_urls == {"na": "https://api.na.example.com"}


async def test_a_node_with_another_server_secret_says_so_clearly(settings):
    import pytest

    from tenantgate.services import Services
    from tenantgate.tokens.keys import WrongServerSecret

    first = Services.build(settings)
    await first.open(background=False)
    await first.close()
    other = Services.build(settings.model_copy(update={"secret_key": "another-secret"}))
    with pytest.raises(WrongServerSecret, match="TENANTGATE_SECRET_KEY"):
        await other.open(background=False)
    await other.close()
