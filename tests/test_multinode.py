"""Two nodes on one database: what one node is told, the other obeys within a second."""

import asyncio
import time

import httpx
import pytest

from tenantgate.app import create_app
from tenantgate.services import Services
from tests import factories as f


@pytest.fixture
async def second_node(settings):
    # The tests poll this node until a change arrives; its failed attempts must not reach the
    # 429 limit, which is not what they are about.
    update = {"change_poll_interval": 0.2, "failure_limit": 1000}
    services = Services.build(settings.model_copy(update=update))
    await services.open()
    transport = httpx.ASGITransport(app=create_app(services.settings, services))
    async with httpx.AsyncClient(transport=transport, base_url="https://node-b.test") as c:
        yield c
    await services.close()


async def introspect(client: httpx.AsyncClient, token: str) -> bool:
    response = await client.post("/v1/token/introspect", data={"token": token}, headers=f.ADMIN)
    assert response.status_code == 200
    return response.json()["active"]


async def becomes(active: bool, client: httpx.AsyncClient, token: str, within: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < within:
        if await introspect(client, token) is active:
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError(f"not {'active' if active else 'inactive'} after {within} s")


async def test_an_invalidation_on_one_node_is_obeyed_by_the_other_within_a_second(
    client, second_node
):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    await becomes(True, second_node, token, within=1.0)
    response = await client.delete("/v1/token", headers={"x-tokens": f"accessToken={token}"})
    assert response.status_code == 204
    assert await becomes(False, second_node, token, within=1.0) < 1.0


async def test_an_api_user_disabled_on_one_node_is_obeyed_by_the_other(client, second_node):
    setup = await f.accepted_setup(client)
    token = (await f.get_token(client, setup))["access_token"]
    await becomes(True, second_node, token, within=1.0)
    await f.accept(client, setup.tenant_id, setup.application_id, enabled=False)
    await becomes(False, second_node, token, within=1.0)
    refused = await second_node.post("/v1/token", data=setup.form())
    assert refused.status_code == 403
    assert refused.json()["error"] == "access_denied"


async def test_a_registration_on_one_node_works_at_once_on_the_other(client, second_node):
    setup = await f.accepted_setup(client)
    deadline = time.monotonic() + 1.0
    while True:
        response = await second_node.post("/v1/token", data=setup.form())
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert response.status_code == 200, response.text


async def test_a_new_signing_key_is_picked_up_by_the_other_node(client, services, second_node):
    setup = await f.accepted_setup(client)
    await services.keys.rotate("test")
    token = (await f.get_token(client, setup))["access_token"]
    await becomes(True, second_node, token, within=1.0)


async def test_a_new_admin_token_replaces_the_old_one_on_running_nodes(settings):
    unset = settings.model_copy(update={"admin_token": None, "change_poll_interval": 0.2})
    first, second = Services.build(unset), Services.build(unset)
    await first.open()
    await second.open()
    try:
        transport = httpx.ASGITransport(app=create_app(unset, second))
        async with httpx.AsyncClient(transport=transport, base_url="https://b.test") as node_b:

            async def accepted_soon(token: str) -> None:
                deadline = time.monotonic() + 3.0
                bearer = {"Authorization": f"Bearer {token}"}
                while (await node_b.get("/admin/v1/tenants", headers=bearer)).status_code != 200:
                    assert time.monotonic() < deadline, "the other node never took the token"
                    await asyncio.sleep(0.05)

            old = await first.admin_token.reset()
            await accepted_soon(old)
            await accepted_soon(await first.admin_token.reset())
            stale = await node_b.get(
                "/admin/v1/tenants", headers={"Authorization": f"Bearer {old}"}
            )
            assert stale.status_code == 401
    finally:
        await second.close()
        await first.close()


async def test_a_load_that_read_before_a_reset_never_brings_the_old_admin_token_back(settings):
    """A poll of the change feed that read the hash just before a reset committed, and is slow
    to finish, must not put the old hash back after the reset."""
    unset = settings.model_copy(update={"admin_token": None})
    node = Services.build(unset)
    await node.open()
    try:
        admin = node.admin_token
        old = await admin.reset()
        real_stored = admin._stored
        slow, reads = asyncio.Event(), 0

        async def read_then_wait(mint: bool) -> str | None:  # the real read, then held back
            nonlocal reads
            reads += 1
            value = await real_stored(mint)
            await slow.wait()
            return value

        admin._stored = read_then_wait  # type: ignore[method-assign]
        early = asyncio.create_task(admin.load())
        while reads == 0:
            await asyncio.sleep(0)
        reset = asyncio.create_task(admin.reset())
        # A reset that does not wait its turn finishes now; one that does, only after.
        await asyncio.wait({reset}, timeout=1.0)
        slow.set()
        await early
        new = await reset

        assert admin.matches(new)
        assert not admin.matches(old)
    finally:
        await node.close()
