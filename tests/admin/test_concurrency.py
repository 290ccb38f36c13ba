"""Admin writes that race for the same thing (a script retrying, two operators at once) are
answered one after the other: no 5xx, and the rules still hold."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests import factories as f

USER = {"first_name": "Api", "last_name": "User"}


async def at_once(n: int, request) -> Counter[int]:
    responses = await asyncio.gather(*(request() for _ in range(n)))
    return Counter(r.status_code for r in responses)


async def test_racing_creations_of_one_api_user_make_one(client):
    app = await f.application(client)
    tenant = await f.tenant(client, f.DEFAULT_APPS)
    path = f"/admin/v1/tenants/{tenant['tenant_id']}/api-users/{app['application_id']}"

    statuses = await at_once(5, lambda: client.put(path, json=USER, headers=f.ADMIN))

    assert statuses == Counter({201: 1, 200: 4})


async def test_racing_secret_additions_keep_at_most_two_active_secrets(client):
    app = await f.application(client)
    path = f"/admin/v1/applications/{app['application_id']}/secrets"

    statuses = await at_once(5, lambda: client.post(path, headers=f.ADMIN))

    assert statuses == Counter({201: 1, 409: 4})
    shown = await client.get(f"/admin/v1/applications/{app['application_id']}", headers=f.ADMIN)
    assert [s["retired_at"] for s in shown.json()["secrets"]] == [None, None]


async def test_racing_puts_and_deletes_of_one_app(client):
    tenant = await f.tenant(client)
    path = f"/admin/v1/tenants/{tenant['tenant_id']}/apps/sdmo"

    puts = await at_once(
        5, lambda: client.put(path, json={"graphql_url": "http://h/g"}, headers=f.ADMIN)
    )
    deletes = await at_once(3, lambda: client.delete(path, headers=f.ADMIN))

    assert puts == Counter({201: 1, 200: 4})
    assert deletes == Counter({204: 1, 404: 2})
