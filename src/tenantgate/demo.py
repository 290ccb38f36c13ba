"""The embedded demo: one tenant with both reference apps and two applications it has
accepted: one that may do anything the apps allow, and a read-only one that holds the role
``sdmo-reader`` (queries and subscriptions, no mutation), so that a newcomer sees a role at
work, a mutation refused with 403 FORBIDDEN, in the first minute. Two applications rather
than the role on the first: every example written for the demo, mutations included, keeps
working with the credentials it prints first.

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
READER_KEY = "demo-reader"
ACTOR = "demo"
APPS = ("sdmo", "shopfloor")
READER_ROLE = "sdmo-reader"
READER_GRANTS = [
    {"app": app, "operations": ["query", "subscription"], "fields": ["*"]} for app in APPS
]
REFUSED_MUTATION = '{"query": "mutation { postSalesOrder(id: \\"so_1\\") { number } }"}'


@dataclass(frozen=True)
class Reader:
    """The read-only demo application."""

    application_id: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class DemoCredentials:
    application_id: str
    client_id: str
    client_secret: str
    tenant_id: str
    reused: bool = False
    reader: Reader | None = None


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
    reader = await _ensure_reader(services, tenant_id)
    return DemoCredentials(
        application_id, application.client_id, secret.client_secret, tenant_id, reused, reader
    )


async def _ensure_reader(services: Services, tenant_id: str) -> Reader:
    """The read-only application and its role, made at the first start that lacks them (a
    demo database from before roles gets them at its next start)."""
    registry = services.registry
    await registry.roles.put(
        tenant_id,
        READER_ROLE,
        ACTOR,
        grants=READER_GRANTS,
        description="Reads both apps (queries and subscriptions); changes nothing.",
    )
    application_id = await _recalled(services, READER_KEY)
    try:
        application = await registry.get_application(application_id or "")
    except NotFound:
        view, _ = await registry.create_application("Demo read-only integration", ACTOR)
        application_id = view.application_id
        await _keep(services, READER_KEY, application_id)
        application = await registry.get_application(application_id)
    assert application_id is not None
    await registry.put_api_user(
        tenant_id,
        application_id,
        ACTOR,
        first_name="Demo",
        last_name="Reader",
        roles=[READER_ROLE],
    )
    secret = await registry.replace_secrets(application_id, ACTOR)
    return Reader(application_id, application.client_id, secret.client_secret)


async def _remembered(services: Services) -> tuple[str | None, str | None]:
    value = await _recalled(services, DEMO_KEY)
    if value is None:
        return None, None
    application_id, _, tenant_id = value.partition("/")
    return application_id, tenant_id


async def _remember(services: Services, application_id: str, tenant_id: str) -> None:
    await _keep(services, DEMO_KEY, f"{application_id}/{tenant_id}")


async def _recalled(services: Services, key: str) -> str | None:
    async with services.db.session() as session:
        row = await session.scalar(select(m.ServerState).where(m.ServerState.key == key))
    return None if row is None else row.value


async def _keep(services: Services, key: str, value: str) -> None:
    async with services.db.begin() as session:
        row = await session.get(m.ServerState, key)
        if row is None:
            session.add(m.ServerState(key=key, value=value))
        else:
            row.value = value


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


def token_command(client_id: str, client_secret: str, tenant_id: str, base_url: str) -> str:
    """A shell command that prints a new access token of that client for that tenant."""
    form = (
        f"grant_type=client_credentials&client_id={client_id}"
        f"&client_secret={client_secret}&scope=tenantid%3A{tenant_id}"
    )
    return (
        f"curl -s -X POST {base_url}/v1/token "
        f"-H 'content-type: application/x-www-form-urlencoded' -d {shlex.quote(form)}"
        " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    )


def refused_mutation(demo: DemoCredentials, base_url: str) -> list[str]:
    """The lines about the read-only application: its credentials, and one command that gets
    it a token and sends a mutation, which the gateway refuses (403 FORBIDDEN)."""
    reader = demo.reader
    if reader is None:
        return []
    token = token_command(reader.client_id, reader.client_secret, demo.tenant_id, base_url)
    command = (
        f"READER=$({token}) && curl -s {base_url}/v1/fwd/cluster-release/sdmo/api "
        f"-H \"Authorization: Bearer $READER\" -H 'content-type: application/json' "
        f"-d {shlex.quote(REFUSED_MUTATION)} -w ' (HTTP %{{http_code}})\\n'"
    )
    return [
        f"A read-only integration holds the role {READER_ROLE} (queries and subscriptions of",
        "both apps, no mutation):",
        f"    application id : {reader.application_id}",
        f"    client id      : {reader.client_id}",
        f"    client secret  : {reader.client_secret}   (new at every start too)",
        "See the gateway refuse its mutations (HTTP 403, code FORBIDDEN):",
        f"  {command}",
        "",
    ]


def instructions(demo: DemoCredentials, base_url: str) -> str:
    token_curl = token_command(demo.client_id, demo.client_secret, demo.tenant_id, base_url)
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
            f"  TOKEN=$({token_curl})",
            "Query the sdmo app through the gateway:",
            f"  {graphql_curl}",
            "For the tenantgate command (token get, graphql) and the Python SDK, in any shell:",
            f"  {exports(demo, base_url)}",
            "",
            *refused_mutation(demo, base_url),
            f"Console: {base_url}/console   Admin API docs: {base_url}/admin/v1/docs",
            "",
        ]
    )
