"""Who owns an application: never whoever signs up with the e-mail an operator wrote as its
owner, only the account an operator assigns, or the developer who redeems the operator's
one-time invite before it expires."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import AsyncIterator

import pytest

from tenantgate.registry.errors import Gone
from tenantgate.services import Services
from tenantgate.settings import Settings
from tests.conftest import ManualClock
from tests.console.visitor import PASSWORD, Visitor

INVITE_TTL = 3600
LINK = re.compile(r'id="invite-link">https://tg\.example\.test(/console/invites/[^<]+)<')
SECRET = re.compile(r'id="client-secret">(tgs_[A-Za-z0-9_-]+)<')
SIGN_UP_LINK = re.compile(r'href="(/console/sign-up\?next=[^"]+)"')
NEXT = re.compile(r'name="next" value="([^"]+)"')


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"console_invite_ttl": INVITE_TTL})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def services(settings: Settings, clock: ManualClock) -> AsyncIterator[Services]:
    services = Services.build(settings, clock=clock)
    await services.open()
    yield services
    await services.close()


@pytest.fixture
async def application(services: Services):
    owner = f"victim-{uuid.uuid4().hex[:10]}@example.com"
    view, _secret = await services.registry.create_application("Acme sync", "admin", owner=owner)
    return view


async def sign_up(visitor: Visitor, email: str, path: str = "/console/sign-up") -> None:
    page = await visitor.get(path)
    form = {"email": email, "password": PASSWORD, "password_confirm": PASSWORD}
    then = NEXT.search(page.text)
    if then:
        form["next"] = html.unescape(then.group(1))
    response = await visitor.submit("/console/sign-up", form)
    assert response.status_code == 303, response.text
    visitor.email = email.lower()


async def invite_link(operator: Visitor, application_id: str) -> str:
    await operator.get(f"/console/apps/{application_id}")
    page = await operator.submit(f"/console/apps/{application_id}/invites")
    assert page.status_code == 200, page.text
    found = LINK.search(page.text)
    assert found, "the invite link is on the page right after it was made"
    return found.group(1)


async def accept(developer: Visitor, link: str):
    await developer.get(link)
    return await developer.submit(link)


async def owner_of(services: Services, application_id: str) -> int | None:
    return (await services.registry.get_application(application_id)).owner_account_id


@pytest.mark.parametrize("typed", [str, str.upper])
async def test_signing_up_with_the_owners_e_mail_owns_nothing(
    visitors, services, application, typed
):
    intruder = visitors(address=f"198.51.100.{len(typed.__name__)}")
    await sign_up(intruder, typed(application.owner))
    path = f"/console/apps/{application.application_id}"

    listing = await intruder.get("/console/apps")
    page = await intruder.get(path)
    add_secret = await intruder.submit(path + "/secrets")

    assert application.application_id not in listing.text
    assert page.status_code == 404 and application.client_id not in page.text
    assert add_secret.status_code == 404 and not SECRET.search(add_secret.text)
    after = await services.registry.get_application(application.application_id)
    assert after.owner_account_id is None and len(after.secrets) == 1


async def test_an_invite_makes_the_developer_the_owner_once(
    operator, developer, visitors, new_account, services, application, account_id
):
    link = await invite_link(operator, application.application_id)
    assert "only time it is shown" in (operator.page.text if operator.page else "")

    confirm = await developer.get(link)
    assert confirm.status_code == 200 and "Acme sync" in confirm.text
    accepted = await accept(developer, link)

    assert accepted.status_code == 303
    assert accepted.headers["location"].startswith(f"/console/apps/{application.application_id}?")
    assert developer.page is not None and "You own this application now." in developer.page.text
    added = await developer.submit(f"/console/apps/{application.application_id}/secrets")
    assert SECRET.search(added.text), "the owner adds a secret"
    mine = await account_id(developer.email)
    assert await owner_of(services, application.application_id) == mine

    second = visitors(address="198.51.100.30")
    await second.sign_in(await new_account("developer"))
    again = await second.get(link)
    assert again.status_code == 410 and "used already" in again.text
    assert (await second.submit(link)).status_code == 410
    assert await owner_of(services, application.application_id) == mine


async def test_an_expired_invite_is_refused(operator, developer, services, application, clock):
    link = await invite_link(operator, application.application_id)
    clock.advance(INVITE_TTL + 1)

    page = await developer.get(link)

    assert page.status_code == 410 and "expired" in page.text
    assert (await developer.submit(link)).status_code == 410
    assert await owner_of(services, application.application_id) is None


async def test_an_invite_for_one_application_gives_no_other(
    operator, developer, services, application
):
    other, _secret = await services.registry.create_application("Other", "admin")
    await accept(developer, await invite_link(operator, application.application_id))

    listing = await developer.get("/console/apps")

    assert application.application_id in listing.text
    assert other.application_id not in listing.text
    assert (await developer.get(f"/console/apps/{other.application_id}")).status_code == 404
    assert await owner_of(services, other.application_id) is None


async def test_redeeming_needs_the_forms_csrf_token(operator, developer, services, application):
    link = await invite_link(operator, application.application_id)
    await developer.get(link)

    response = await developer.client.post(link, data={})

    assert response.status_code == 403
    assert await owner_of(services, application.application_id) is None
    assert (await developer.get(link)).status_code == 200, "the invite is still pending"


async def test_a_newcomer_signs_up_from_the_link_and_accepts(
    operator, visitors, services, application, account_id
):
    link = await invite_link(operator, application.application_id)
    newcomer, email = visitors(address="198.51.100.40"), f"new-{uuid.uuid4().hex[:10]}@example.com"

    asked = await newcomer.get(link)
    assert asked.status_code == 303 and asked.headers["location"].startswith("/console/sign-in")
    sign_in = await newcomer.get(asked.headers["location"])
    found = SIGN_UP_LINK.search(sign_in.text)
    assert found, "the sign-in page offers to sign up, and to come back to the invite"
    await sign_up(newcomer, email, html.unescape(found.group(1)))
    assert newcomer.page is not None and "Become the owner" in newcomer.page.text
    await newcomer.submit(link)

    assert await owner_of(services, application.application_id) == await account_id(email)


async def test_only_a_developer_accepts_an_invite(operator, services, application):
    link = await invite_link(operator, application.application_id)

    assert (await operator.get(link)).status_code == 403
    assert await owner_of(services, application.application_id) is None


async def test_a_new_invite_or_an_assigned_owner_withdraws_the_pending_one(
    operator, developer, services, application
):
    first = await invite_link(operator, application.application_id)
    second = await invite_link(operator, application.application_id)
    assert (await developer.get(first)).status_code == 404

    await operator.get(f"/console/apps/{application.application_id}")
    await operator.submit(
        f"/console/apps/{application.application_id}/owner", {"email": developer.email}
    )

    refused = await developer.get(second)
    assert refused.status_code == 404 and "withdrew" in refused.text


async def test_the_operator_assigns_an_existing_developer(
    operator, developer, services, application, account_id
):
    path = f"/console/apps/{application.application_id}"
    await operator.get(path)
    assert developer.email is not None

    await operator.submit(path + "/owner", {"email": developer.email.upper()})

    assert operator.page is not None and "Owner assigned" in operator.page.text
    assert developer.email in operator.page.text
    assert (await developer.get(path)).status_code == 200
    assert application.application_id in (await developer.get("/console/apps")).text
    events = await services.registry.audit(
        application_id=application.application_id, kind="application.owner_assigned"
    )
    assert events.items[0].detail == {
        "account_id": await account_id(developer.email),
        "email": developer.email,
        "previous_account_id": None,
    }

    await operator.get(path)
    await operator.submit(path + "/owner/remove")
    assert (await developer.get(path)).status_code == 404


@pytest.mark.parametrize(
    ("role", "message"),
    [("tenant_admin", "Only a developer account"), (None, "No account has this e-mail")],
)
async def test_only_an_existing_developer_can_be_assigned(
    operator, new_account, services, application, role, message
):
    tenant = await services.registry.create_tenant("T", "eu", "c", "test")
    email = await new_account(role, (tenant.tenant_id,)) if role else "nobody@example.com"
    path = f"/console/apps/{application.application_id}"
    await operator.get(path)

    response = await operator.submit(path + "/owner", {"email": email})

    assert response.status_code == 400 and message in response.text
    assert await owner_of(services, application.application_id) is None


async def test_the_trail_records_invites_made_and_redeemed(
    operator, developer, services, application
):
    await accept(developer, await invite_link(operator, application.application_id))

    page = await services.registry.audit(application_id=application.application_id)
    kinds = [event.kind for event in page.items]

    assert kinds[:2] == ["application.invite_redeemed", "application.invite_created"]
    assert page.items[0].actor == f"console:{developer.email}"
    assert page.items[1].actor == f"console:{operator.email}"


async def test_of_two_redemptions_at_once_one_wins(services, application, new_account, account_id):
    ownership = services.ownership
    new = await ownership.invite(application.application_id, "test")
    first, second = [await account_id(await new_account("developer")) for _ in range(2)]

    results = await asyncio.gather(
        ownership.redeem(new.code, first, "test"),
        ownership.redeem(new.code, second, "test"),
        return_exceptions=True,
    )

    assert sum(isinstance(r, Gone) for r in results) == 1
    assert await owner_of(services, application.application_id) in (first, second)
