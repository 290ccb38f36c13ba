"""The console's long lists come 50 rows a page, with a Next link that carries the cursor and a
link back to the first page; who may see what does not change from one page to the next."""

from __future__ import annotations

import re

from tenantgate.console.web import PAGE_SIZE
from tests.console.visitor import Visitor

NEXT = re.compile(r'<a rel="next" href="([^"]+cursor=[^"]+)">Next page »</a>')
APP_ROW = re.compile(r"<td><code>(\d+)</code></td>")


async def follow_next(visitor: Visitor) -> str:
    assert visitor.page is not None
    found = NEXT.search(visitor.page.text)
    assert found, "the page has a Next link"
    page = await visitor.get(found.group(1).replace("&amp;", "&"))
    assert page.status_code == 200
    return page.text


async def test_a_developer_pages_through_their_applications(developer, services, account_id):
    registry, mine = services.registry, await account_id(developer.email)
    created = [
        (await registry.create_application(f"Mine {n}", "test", owner_account_id=mine))[0]
        for n in range(PAGE_SIZE + 1)
    ]
    await registry.create_application("Someone else's", "test", owner=developer.email)

    first = await developer.get("/console/apps")
    second = await follow_next(developer)

    listed = APP_ROW.findall(first.text) + APP_ROW.findall(second)
    assert listed == [a.application_id for a in created]
    assert "Someone else" not in first.text + second
    assert "« First page" in second and not NEXT.search(second)
    assert 'name="csrf_token"' in second, "the register form works from any page"


async def test_the_operator_pages_through_tenants(operator, services):
    for n in range(PAGE_SIZE + 1):
        await services.registry.create_tenant(f"Paged tenant {n}", "eu", "c", "test")
    ids = re.compile(r'<a href="/console/tenants/([A-Za-z0-9_-]+)">')

    first = await operator.get("/console/tenants")
    second = await follow_next(operator)

    on_first, on_second = ids.findall(first.text), ids.findall(second)
    assert len(on_first) == PAGE_SIZE and on_second
    assert not set(on_first) & set(on_second)


async def test_a_tenants_api_users_page_with_their_application_names(operator, services):
    registry = services.registry
    tenant = await registry.create_tenant("Crowded", "eu", "c", "test")
    names = []
    for n in range(PAGE_SIZE + 2):
        application, _ = await registry.create_application(f"Guest {n}", "test")
        await registry.put_api_user(
            tenant.tenant_id, application.application_id, "test", first_name="G", last_name="U"
        )
        names.append(application.name)

    first = await operator.get(f"/console/tenants/{tenant.tenant_id}")
    second = await follow_next(operator)

    assert first.text.count("api-users/") > PAGE_SIZE and f"{names[-3]}<br>" in first.text
    assert f"{names[-2]}<br>" in second and f"{names[-1]}<br>" in second
    assert f"{names[0]}<br>" not in second
    assert "Apps of this tenant" in second, "the rest of the tenant page stays"


async def test_a_cursor_is_no_way_around_signing_in_and_a_bad_one_is_refused(visitors, developer):
    stranger = visitors()
    bounced = await stranger.get("/console/apps", cursor="anything")
    assert bounced.status_code == 303 and "/console/sign-in" in bounced.headers["location"]

    refused = await developer.get("/console/apps", cursor="bm90IGEgY3Vyc29y")
    assert refused.status_code == 400 and "cursor" in refused.text
