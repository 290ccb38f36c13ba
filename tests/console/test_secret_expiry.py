"""A developer sees when each client secret expires, may give a new one a lifetime, and is
warned on the application's page 30 days ahead and once it has expired; an expired secret
never stops them adding a new one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from tenantgate.services import Services
from tenantgate.settings import Settings
from tests.conftest import ManualClock
from tests.console.visitor import Visitor

DAY = 86400
APPLICATION_ID = re.compile(r'id="application-id">(\d+)<')
EXPIRES = re.compile(r'id="secret-expires">([^<]+)<')
BANNER = 'id="secret-expiry"'


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def services(settings: Settings, clock: ManualClock) -> AsyncIterator[Services]:
    services = Services.build(settings, clock=clock)
    await services.open()
    yield services
    await services.close()


async def register(developer: Visitor) -> str:
    await developer.get("/console/apps")
    page = await developer.submit("/console/apps", {"name": "Expiring sync"})
    found = APPLICATION_ID.search(page.text)
    assert found, page.text
    return found.group(1)


async def add_secret(developer: Visitor, application_id: str, days: str) -> str:
    await developer.get(f"/console/apps/{application_id}")
    page = await developer.submit(
        f"/console/apps/{application_id}/secrets", {"expires_in_days": days}
    )
    assert page.status_code == 200, page.text
    return page.text


async def test_a_secret_added_with_a_lifetime_shows_its_expiry(developer, services):
    application_id = await register(developer)
    assert (await developer.get(f"/console/apps/{application_id}")).text.count("never") >= 2

    shown = await add_secret(developer, application_id, "60")
    detail = await developer.get(f"/console/apps/{application_id}")

    expected = (await services.registry.get_application(application_id)).secrets[1].expires_at
    assert expected is not None
    day, minute = expected[:10], expected[11:16]
    found = EXPIRES.search(shown)
    assert found and found.group(1) == f"{day} {minute} UTC"
    assert f"{day} {minute} UTC" in detail.text
    assert BANNER not in detail.text, "60 days away: no warning yet"


async def test_the_developer_is_warned_30_days_ahead(developer):
    application_id = await register(developer)
    await add_secret(developer, application_id, "30")

    detail = await developer.get(f"/console/apps/{application_id}")

    assert BANNER in detail.text
    assert "A client secret expires soon" in detail.text
    assert "in 30 days" in detail.text
    assert "Two secrets are active" in detail.text


async def test_an_expired_secret_is_marked_and_does_not_block_a_new_one(developer, clock, services):
    application_id = await register(developer)
    await add_secret(developer, application_id, "1")
    clock.advance(2 * DAY)
    assert developer.email is not None
    await developer.sign_in(developer.email)  # the session, too, has expired

    detail = await developer.get(f"/console/apps/{application_id}")

    assert BANNER in detail.text and "A client secret has expired" in detail.text
    assert "it gets no tokens" in detail.text
    assert re.search(r"<td>expired</td>", detail.text)
    assert "Two secrets are active" not in detail.text
    third = await add_secret(developer, application_id, "")
    assert EXPIRES.search(third) and "never" in third
    assert len((await services.registry.get_application(application_id)).secrets) == 3


@pytest.mark.parametrize("days", ["abc", "0", "3651", "1.5", "-3"])
async def test_a_lifetime_it_cannot_use_is_a_clear_error(developer, services, days):
    application_id = await register(developer)
    await developer.get(f"/console/apps/{application_id}")

    response = await developer.submit(
        f"/console/apps/{application_id}/secrets", {"expires_in_days": days}
    )

    assert response.status_code == 400
    assert 'role="alert"' in response.text and "3650" in response.text
    assert len((await services.registry.get_application(application_id)).secrets) == 1


async def test_the_form_names_the_default_lifetime(developer, services):
    services.registry.secret_lifetime_days = 90
    application_id = await register(developer)
    registered = developer.page
    assert registered is not None
    found = EXPIRES.search(registered.text)

    detail = await developer.get(f"/console/apps/{application_id}")

    assert found and found.group(1) != "never"
    assert "Empty: in 90 days, the default." in detail.text
