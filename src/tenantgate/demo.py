"""The embedded demo: one tenant with both reference apps, one application it has accepted.

Created once per database and reused by every later start, which says so; at each start the
demo application gets a fresh secret (the old ones are retired), since only hashes are kept
and a newcomer needs one to paste. That would break a demo still running on the same
database, so ``tenantgate demo`` refuses to start while one runs (``cli/running.py``)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from sqlalchemy import select

from tenantgate.registry.errors import NotFound
from tenantgate.services import Services
from tenantgate.storage import models as m

DEMO_KEY = "demo"
ACTOR = "demo"
APPS = ("sdmo", "shopfloor")


@dataclass(frozen=True)
class DemoCredentials:
    application_id: str
    client_id: str
    client_secret: str
    tenant_id: str
    reused: bool = False


async def ensure_demo(services: Services, base_url: str) -> DemoCredentials:
    registry = services.registry
    application_id, tenant_id = await _remembered(services)
    reused = True
    try:
        application = await registry.get_application(application_id or "")
        await registry.get_tenant(tenant_id or "")
    except NotFound:
        reused = False
        view, _ = await registry.create_application("Demo integration", ACTOR)
        tenant = await registry.create_tenant("Demo tenant", "eu", "cluster-release", ACTOR)
        application_id, tenant_id = view.application_id, tenant.tenant_id
        await _remember(services, application_id, tenant_id)
        application = await registry.get_application(application_id)
    assert application_id is not None and tenant_id is not None
    for app in APPS:
        await registry.put_app(tenant_id, app, f"{base_url}/refapps/{app}/graphql", None, ACTOR)
    await registry.put_api_user(
        tenant_id, application_id, ACTOR, first_name="Demo", last_name="Integration"
    )
    secret = await registry.replace_secrets(application_id, ACTOR)
    return DemoCredentials(
        application_id, application.client_id, secret.client_secret, tenant_id, reused
    )


async def _remembered(services: Services) -> tuple[str | None, str | None]:
    async with services.db.session() as session:
        row = await session.scalar(select(m.ServerState).where(m.ServerState.key == DEMO_KEY))
    if row is None:
        return None, None
    application_id, _, tenant_id = row.value.partition("/")
    return application_id, tenant_id


async def _remember(services: Services, application_id: str, tenant_id: str) -> None:
    async with services.db.begin() as session:
        row = await session.get(m.ServerState, DEMO_KEY)
        if row is None:
            session.add(m.ServerState(key=DEMO_KEY, value=f"{application_id}/{tenant_id}"))
        else:
            row.value = f"{application_id}/{tenant_id}"


def exports(demo: DemoCredentials, base_url: str) -> str:
    """The ``export`` line of the variables that ``Client.from_env()`` and ``tenantgate token``
    read."""
    values = {
        "TENANTGATE_TOKEN_URL": f"{base_url}/v1/token",
        "TENANTGATE_CLIENT_ID": demo.client_id,
        "TENANTGATE_CLIENT_SECRET": demo.client_secret,
        "TENANTGATE_TENANT_ID": demo.tenant_id,
    }
    return "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in values.items())


def instructions(demo: DemoCredentials, base_url: str) -> str:
    form = (
        f"grant_type=client_credentials&client_id={demo.client_id}"
        f"&client_secret={demo.client_secret}&scope=tenantid%3A{demo.tenant_id}"
    )
    token_curl = (
        f"curl -s -X POST {base_url}/v1/token "
        f"-H 'content-type: application/x-www-form-urlencoded' -d {shlex.quote(form)}"
    )
    query = '{"query": "{ items(first: 3) { edges { node { id code name } } } }"}'
    graphql_curl = (
        f"curl -s {base_url}/v1/fwd/cluster-release/sdmo/api "
        f"-H \"Authorization: Bearer $TOKEN\" -H 'content-type: application/json' "
        f"-d {shlex.quote(query)}"
    )
    origin = (
        ["Reusing the demo tenant and application made by an earlier run on this database."]
        if demo.reused
        else []
    )
    return "\n".join(
        [
            "",
            "tenantgate demo is ready.",
            *origin,
            f"  application id : {demo.application_id}",
            f"  client id      : {demo.client_id}",
            f"  client secret  : {demo.client_secret}   (new at every start; shown only here)",
            f"  tenant id      : {demo.tenant_id}",
            "",
            "Get a token:",
            f"  TOKEN=$({token_curl} | python3 -c 'import json,sys; "
            'print(json.load(sys.stdin)["access_token"])\')',
            "Query the sdmo app through the gateway:",
            f"  {graphql_curl}",
            "For the tenantgate command (token get, graphql) and the Python SDK, in any shell:",
            f"  {exports(demo, base_url)}",
            "",
            f"Console: {base_url}/console   Admin API docs: {base_url}/admin/v1/docs",
            "",
        ]
    )
