"""Every admin list comes a page at a time: ``limit`` items (100 unless asked, at most 1,000),
the body a JSON list as before, the next page named by ``Link: <…>; rel="next"`` and
``X-Next-Cursor``, neither on the last page. Pages follow a unique key that never changes, so
records written while an operator pages neither repeat nor hide the others."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from tenantgate.services import Services
from tenantgate.storage import models as m
from tenantgate.storage.audit import audit_row
from tests import factories as f
from tests.conftest import BACKENDS, _create_pg_database, _drop_pg_database, pg_url

NEXT = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database of this module's own: the whole-table lists here see only their records."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('paging') / 'tenantgate.db'}"
        return
    name = f"tenantgate_paging_{uuid.uuid4().hex[:12]}"
    asyncio.run(_create_pg_database(name))
    yield pg_url(name)
    asyncio.run(_drop_pg_database(name))


async def get(client: httpx.AsyncClient, path: str, **params: object) -> httpx.Response:
    response = await client.get(path, params=params, headers=f.ADMIN)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return response


def next_link(response: httpx.Response) -> str | None:
    """The next page's URL, checked against X-Next-Cursor; None on the last page."""
    link, cursor = response.headers.get("link"), response.headers.get("x-next-cursor")
    if link is None:
        assert cursor is None
        return None
    found = NEXT.match(link)
    assert found and cursor, link
    url = httpx.URL(found["url"])
    assert url.params["cursor"] == cursor
    assert url.host == "tg.example.test" and url.path.startswith("/admin/v1/")
    return found["url"]


async def pages(client: httpx.AsyncClient, path: str, **params: object) -> list[list[dict]]:
    """Every page of a list, following the Link headers."""
    return await pages_from(client, await get(client, path, **params))


async def pages_from(client: httpx.AsyncClient, response: httpx.Response) -> list[list[dict]]:
    found = [response.json()]
    while (url := next_link(response)) is not None:
        response = await client.get(url, headers=f.ADMIN)
        assert response.status_code == 200, response.text
        found.append(response.json())
    return found


async def test_the_applications_come_a_page_at_a_time_each_once_in_order(client):
    owner = f"pager-{uuid.uuid4().hex[:8]}@example.com"
    created = [await owner_application(client, owner, n) for n in range(7)]

    found = await pages(client, "/admin/v1/applications", owner=owner, limit=3)

    assert [len(page) for page in found] == [3, 3, 1]
    assert [a["application_id"] for page in found for a in page] == created
    assert found[0][0]["secrets"][0]["hint"].startswith("tgs_")


async def test_without_a_limit_a_page_is_100_and_the_last_page_has_no_next(client):
    owner = f"hundred-{uuid.uuid4().hex[:8]}@example.com"
    async with asyncio.TaskGroup() as group:
        for n in range(101):
            group.create_task(owner_application(client, owner, n))

    first = await get(client, "/admin/v1/applications", owner=owner)
    second = await client.get(next_link(first) or "", headers=f.ADMIN)

    assert len(first.json()) == 100
    assert len(second.json()) == 1 and next_link(second) is None
    ids = [a["application_id"] for a in first.json() + second.json()]
    assert len(set(ids)) == 101


async def test_tenants_added_while_paging_skip_and_repeat_none_of_the_others(client):
    before = [(await f.tenant(client))["tenant_id"] for _ in range(9)]

    seen, response = [], await get(client, "/admin/v1/tenants", limit=2)
    while True:
        seen += [t["tenant_id"] for t in response.json()]
        await f.tenant(client)  # written between two pages, after every one
        url = next_link(response)
        if url is None or set(before) <= set(seen):
            break
        response = await client.get(url, headers=f.ADMIN)

    assert [t for t in seen if t in before] == before
    assert len(seen) == len(set(seen))


async def test_api_users_accepted_while_paging_come_at_the_end(client):
    tenant = (await f.tenant(client))["tenant_id"]
    early = [await accepted(client, tenant) for _ in range(5)]
    path = f"/admin/v1/tenants/{tenant}/api-users"

    first = await get(client, path, limit=2)
    late = await accepted(client, tenant)
    second = await client.get(next_link(first) or "", headers=f.ADMIN)
    rest = [u for page in await pages_from(client, second) for u in page]

    listed = [u["application_id"] for u in first.json() + rest]
    assert listed == [*early, late]


async def test_the_audit_trail_pages_across_events_of_the_same_instant(client, services):
    tenant = f"T{uuid.uuid4().hex[:20]}"
    await add_events(services, tenant, [1_950_000_000.5] * 7 + [1_950_000_001.0])

    found = await pages(client, "/admin/v1/audit", tenant_id=tenant, limit=3)

    events = [e for page in found for e in page]
    assert [len(page) for page in found] == [3, 3, 2]
    assert events[0]["at"] == "2031-10-17T10:40:01Z"
    ids = [e["id"] for e in events[1:]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 7


async def test_events_written_while_paging_the_audit_trail_hide_none_of_the_older(client, services):
    tenant = f"T{uuid.uuid4().hex[:20]}"
    await add_events(services, tenant, [1_950_000_000.0 + n for n in range(6)])

    first = await get(client, "/admin/v1/audit", tenant_id=tenant, limit=4)
    await add_events(services, tenant, [1_950_000_100.0, 1_950_000_002.0, 1_950_000_002.0])
    second = await client.get(next_link(first) or "", headers=f.ADMIN)

    times = [e["at"] for e in first.json() + second.json()]
    assert [t[-3:] for t in times] == ["05Z", "04Z", "03Z", "02Z", "01Z", "00Z"]
    assert next_link(second) is None


async def test_before_id_still_pages_the_audit_trail_and_yields_to_a_cursor(client, services):
    tenant = f"T{uuid.uuid4().hex[:20]}"
    await add_events(services, tenant, [1_950_000_000.0] * 4)
    newest = (await get(client, "/admin/v1/audit", tenant_id=tenant)).json()

    older = await get(
        client, "/admin/v1/audit", tenant_id=tenant, before_id=newest[0]["id"], limit=2
    )
    last = await client.get(next_link(older) or "", headers=f.ADMIN)

    assert older.json() == newest[1:3]
    assert last.json() == newest[3:]
    assert "before_id" not in (older.headers["link"])
    both = await client.get(
        "/admin/v1/audit",
        params={"before_id": newest[0]["id"], "cursor": older.headers["x-next-cursor"]},
        headers=f.ADMIN,
    )
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"


async def test_async_context_payloads_page_newest_first(client, services):
    setup = await f.accepted_setup(client)
    for n in range(5):
        await services.payloads.add(
            setup.tenant_id, setup.application_id, setup.client_id, "ctx", "upload", "text/plain",
            f"payload {n}".encode(),
        )  # fmt: skip

    found = await pages(client, f"/admin/v1/tenants/{setup.tenant_id}/async-contexts", limit=2)

    sizes = [[p["size"] for p in page] for page in found]
    assert sizes == [[9, 9], [9, 9], [9]]
    ids = [p["id"] for page in found for p in page]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5


LISTS = (
    "/admin/v1/applications",
    "/admin/v1/tenants",
    "/admin/v1/tenants/{tenant_id}/api-users",
    "/admin/v1/audit",
    "/admin/v1/tenants/{tenant_id}/async-contexts",
)


def cursor_of(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()


BAD_CURSORS = {
    "garbage": "not a cursor at all!",
    "not base64 text": "¡ñ!",
    "base64 of nothing useful": cursor_of(),
    "base64 of an object": base64.urlsafe_b64encode(b'{"at": 1}').decode(),
    "base64 that is not JSON": base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    "a key of the wrong types": cursor_of("applications", "yesterday", 12),
    "a key of the wrong length": cursor_of("tenants", 1.0),
    "a number that is not": cursor_of("audit", True, 1),
    "an id beyond any": cursor_of("audit", 1.0, 2**40),
    "an id with a NUL": cursor_of("tenants", 1.0, "a\x00b"),
    "far too long": "A" * 600,
}


async def test_limits_out_of_range_and_bad_cursors_are_invalid_requests(client, subtests):
    setup = await f.accepted_setup(client)
    other_list = (await get(client, "/admin/v1/applications", limit=1)).headers["x-next-cursor"]
    for template in LISTS:
        path = template.format(tenant_id=setup.tenant_id)
        cases: dict[str, dict[str, object]] = {
            "limit 0": {"limit": 0},
            "limit 1001": {"limit": 1001},
            "limit not a number": {"limit": "ten"},
            "limit not an integer": {"limit": "1.5"},
            **{f"cursor: {k}": {"cursor": v} for k, v in BAD_CURSORS.items()},
        }
        if "applications" not in path:
            cases["cursor of another list"] = {"cursor": other_list}
        for case, params in cases.items():
            response = await client.get(path, params=params, headers=f.ADMIN)  # type: ignore[arg-type]
            with subtests.test(f"{path}: {case}"):
                assert response.status_code == 400, response.text
                body = response.json()
                assert set(body) == {"error", "error_description"}
                assert body["error"] == "invalid_request"
    assert (await get(client, "/admin/v1/tenants", limit=1000)).status_code == 200


async def test_a_page_of_100_takes_a_few_milliseconds_among_10000_applications(client, services):
    await add_applications(services, 10_000)

    first = await timed(client, "/admin/v1/applications")
    deep = await get(client, "/admin/v1/applications", limit=1000)
    for _ in range(5):
        deep = await client.get(next_link(deep) or "", headers=f.ADMIN)
    middle = await timed(client, f"/admin/v1/applications?cursor={deep.headers['x-next-cursor']}")

    assert min(first) < 0.05 and min(middle) < 0.05, (first, middle)
    print("TIMES", first, middle)


async def timed(client: httpx.AsyncClient, url: str) -> list[float]:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        response = await client.get(url, headers=f.ADMIN)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200 and len(response.json()) == 100
    return times


async def owner_application(client: httpx.AsyncClient, owner: str, n: int) -> str:
    body = {"name": f"Paged {n}", "owner": owner}
    response = await client.post("/admin/v1/applications", json=body, headers=f.ADMIN)
    assert response.status_code == 201, response.text
    return str(response.json()["application_id"])


async def accepted(client: httpx.AsyncClient, tenant_id: str) -> str:
    application_id = str((await f.application(client))["application_id"])
    await f.accept(client, tenant_id, application_id)
    return application_id


async def add_events(services: Services, tenant_id: str, times: list[float]) -> None:
    async with services.db.begin() as session:
        for at in times:
            session.add(m.AuditEvent(**audit_row("test.paged", "test", at, tenant_id=tenant_id)))


async def add_applications(services: Services, count: int) -> None:
    """Written straight to the tables: ten thousand registrations through the API would
    take longer than the test is about."""
    now = time.time()
    async with services.db.begin() as session:
        # The database serves the whole run, and the server draws application ids at random
        # from the same nine digits: an id an earlier test's application holds is skipped.
        taken = set(await session.scalars(sa.select(m.Application.application_id)))
    ids = (i for i in (f"8{n:08d}" for n in itertools.count()) if i not in taken)
    rows = [
        {
            "application_id": next(ids),
            "client_id": f"bulk{n:020d}",
            "name": f"Bulk {n}",
            "status": "active",
            "owner": "bulk@example.com",
            "created_at": now + n / 1000,
            "updated_at": now,
        }
        for n in range(count)
    ]
    secrets = [
        {
            "secret_id": f"sec_bulk{n}",
            "application_id": row["application_id"],
            "secret_hash": "x" * 64,
            "hint": "tgs_bulk…",
            "created_at": now,
        }
        for n, row in enumerate(rows)
    ]
    async with services.db.begin() as session:
        await session.execute(m.Application.__table__.insert(), rows)
        await session.execute(m.ClientSecret.__table__.insert(), secrets)
