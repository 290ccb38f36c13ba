"""Configuration as code through the admin API: a deployment pipeline posts the registry's
document to /admin/v1/apply, reads the plan, and gets the secrets of the applications it made,
once. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import yaml
from sqlalchemy import event

from tenantgate.app import create_app
from tenantgate.registry import reconcile
from tenantgate.registry.declared import read_data
from tenantgate.services import Services
from tenantgate.settings import Settings
from tests.conftest import _create_pg_database, _drop_pg_database, pg_url
from tests.factories import ADMIN

YAML = {**ADMIN, "Content-Type": "application/yaml"}


def unique(word: str) -> str:
    return f"{word} {uuid.uuid4().hex[:8]}"


async def test_a_yaml_document_is_applied_once_and_its_secret_shown_once(client):
    name, tenant = unique("Pipeline app"), unique("Pipeline tenant")
    document = (
        f"applications:\n  - name: {name}\n"
        f"tenants:\n  - name: {tenant}\n"
        "    apps:\n      sdmo: {graphql_url: 'http://127.0.0.1:9/graphql'}\n"
        f"    api_users:\n      - application: {name}\n        apps: [sdmo]\n"
    )
    dry = await client.post("/admin/v1/apply?dry_run=true", content=document, headers=YAML)
    assert dry.status_code == 200, dry.text
    assert [s["line"] for s in dry.json()["steps"]] == [
        f'create application "{name}"',
        f'create tenant "{tenant}"',
        f'create app sdmo on tenant "{tenant}"',
        f'create api user of "{name}" on tenant "{tenant}"',
    ]
    assert dry.json()["applied"] == 0 and dry.json()["secrets"] == []

    applied = (await client.post("/admin/v1/apply", content=document, headers=YAML)).json()
    assert applied["applied"] == 4 and applied["summary"] == {"create": 4, "update": 0, "delete": 0}
    [secret] = applied["secrets"]
    assert secret["name"] == name and secret["client_secret"].startswith("tgs_")

    again = (await client.post("/admin/v1/apply", content=document, headers=YAML)).json()
    assert (again["steps"], again["secrets"]) == ([], [])
    events = await client.get(
        "/admin/v1/audit", params={"application_id": secret["application_id"]}, headers=ADMIN
    )
    assert {e["actor"] for e in events.json()} == {"admin.apply"}


async def test_a_dry_run_changes_nothing_and_prune_deletes_what_the_file_omits(client):
    tenant = unique("Pruned")
    first = {"tenants": [{"name": tenant, "apps": {"sdmo": {"graphql_url": "http://a.test/g"}}}]}
    await client.post("/admin/v1/apply", json=first, headers=ADMIN)
    exported = (await client.get("/admin/v1/export", headers=ADMIN)).json()
    [mine] = [t for t in exported["tenants"] if t["name"] == tenant]
    mine["apps"] = {}

    kept = await client.post("/admin/v1/apply", json=exported, headers=ADMIN)
    assert kept.json()["steps"] == []
    dry = await client.post("/admin/v1/apply?prune=true&dry_run=true", json=exported, headers=ADMIN)
    assert [s["line"] for s in dry.json()["steps"]] == [
        f'delete app sdmo on tenant "{tenant}" ({mine["tenant_id"]})'
    ]
    tenant_now = await client.get(f"/admin/v1/tenants/{mine['tenant_id']}", headers=ADMIN)
    assert [a["name"] for a in tenant_now.json()["apps"]] == ["sdmo"]
    await client.post("/admin/v1/apply?prune=true", json=exported, headers=ADMIN)
    tenant_now = await client.get(f"/admin/v1/tenants/{mine['tenant_id']}", headers=ADMIN)
    assert tenant_now.json()["apps"] == []


async def test_roles_and_the_api_users_holding_them_round_trip(client):
    tenant, name = unique("Roled"), unique("Role holder")
    grant = {"app": "sdmo", "operations": ["mutation", "query"], "fields": ["*"]}
    document = {
        "applications": [{"name": name}],
        "tenants": [
            {
                "name": tenant,
                "apps": {"sdmo": {"graphql_url": "http://a.test/g"}},
                "roles": {"writer": {"description": "Writes", "grants": [grant]}},
                "api_users": [{"application": name, "roles": ["writer"]}],
            }
        ],
    }
    made = await client.post("/admin/v1/apply", json=document, headers=ADMIN)
    assert [s["kind"] for s in made.json()["steps"]] == [
        "application",
        "tenant",
        "app",
        "role",
        "api_user",
    ]
    assert (await client.post("/admin/v1/apply", json=document, headers=ADMIN)).json()[
        "steps"
    ] == []
    exported = (await client.get("/admin/v1/export", headers=ADMIN)).json()
    [mine] = [t for t in exported["tenants"] if t["name"] == tenant]
    assert mine["api_users"][0]["roles"] == ["writer"]
    dry = await client.post("/admin/v1/apply?dry_run=true&prune=true", json=exported, headers=ADMIN)
    assert dry.json()["steps"] == []
    mine["roles"], mine["api_users"] = {}, []
    pruned = await client.post("/admin/v1/apply?prune=true", json=exported, headers=ADMIN)
    assert [(s["action"], s["kind"]) for s in pruned.json()["steps"]] == [
        ("delete", "api_user"),
        ("delete", "role"),
    ]


async def test_a_document_with_problems_is_refused_with_each_path_and_line(client):
    document = "tenants:\n  - name: Bad\n    region: EU\n    colour: blue\n"
    refused = await client.post("/admin/v1/apply", content=document, headers=YAML)
    assert refused.status_code == 400
    body = refused.json()
    assert body["error"] == "invalid_request"
    assert body["error_description"] == (
        "<body>:3: tenants[0].region: region must be lower-case letters, digits and '-', at most 64"
    )
    assert [(p["path"], p["line"]) for p in body["problems"]] == [
        ("tenants[0].region", 3),
        ("tenants[0].colour", 4),
    ]
    as_json = await client.post(
        "/admin/v1/apply", json={"tenants": [{"tenant_id": "nosuch", "name": "X"}]}, headers=ADMIN
    )
    assert as_json.status_code == 400
    assert as_json.json()["problems"] == [
        {
            "path": "tenants[0].tenant_id",
            "line": None,
            "message": "no tenant nosuch (leave tenant_id out to create one)",
        }
    ]


async def test_the_openapi_document_describes_apply(client):
    schema = (await client.get("/admin/v1/openapi.json")).json()
    apply = schema["paths"]["/apply"]["post"]
    assert set(apply["requestBody"]["content"]) == {"application/json", "application/yaml"}
    assert {"200", "400", "401", "409", "413", "503"} <= set(apply["responses"])
    assert {"Document", "DeclaredTenant", "PlanOut"} <= set(schema["components"]["schemas"])


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty(request, tmp_path) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    """A server on a database of its own: the generated registry is this test's alone."""
    name = f"tenantgate_test_{uuid.uuid4().hex[:12]}"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'big.db'}"
    else:
        await _create_pg_database(name)
        url = pg_url(name)
    settings = Settings(
        database_url=url,
        data_dir=tmp_path,
        secret_key="test-server-secret",
        admin_token=ADMIN["Authorization"].removeprefix("Bearer "),
        refapps=False,
        max_body_bytes=8 * 1024 * 1024,
        # What is measured here is what the plan reads and finds, not how long it takes (that
        # is printed, and quoted in docs/gitops.md): the request's deadline (the database
        # timeout + 0.5 s) is set past what a loaded machine needs. With the default 5 s, a
        # dry run answered 503 once while four suites ran side by side.
        database_timeout=60.0,
    )
    services = Services.build(settings)
    await services.open()
    transport = httpx.ASGITransport(app=create_app(settings, services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="https://tg.test") as client:
            yield services, client
    finally:
        await services.close()
        if request.param == "postgresql":
            await asyncio.sleep(0)
            await _drop_pg_database(name)


def generated(tenants: int, applications: int) -> dict[str, object]:
    return {
        "applications": [{"name": f"Integration {a}"} for a in range(applications)],
        "tenants": [
            {
                "name": f"Tenant {t}",
                "cluster": f"cluster-{t % 3}",
                "apps": {
                    "sdmo": {"graphql_url": f"https://sdmo.test/{t}/graphql"},
                    "shopfloor": {
                        "graphql_url": f"https://shopfloor.test/{t}/graphql",
                        "websocket_url": f"wss://shopfloor.test/{t}/ws",
                    },
                },
                "api_users": [{"application": f"Integration {t % applications}", "apps": ["sdmo"]}],
            }
            for t in range(tenants)
        ],
    }


@pytest.mark.slow
async def test_a_registry_of_a_thousand_tenants_exports_and_plans_nothing(empty):
    """Made through the same plan and apply as the API's, in-process: an apply of 4,010 steps
    outlasts the admin API's request deadline (docs/gitops.md)."""
    services, client = empty
    started = time.monotonic()
    source = read_data(generated(1000, 10))
    made = reconcile.plan(source, await reconcile.read_current(services), "test")
    await reconcile.apply(made, services)
    assert made.applied == 10 + 1000 * 4
    applied = time.monotonic()

    statements: list[str] = []
    engine = services.db.engine.sync_engine

    def counted(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", counted)
    try:
        exported = (await client.get("/admin/v1/export", headers=ADMIN)).json()
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    assert len(exported["tenants"]) == 1000 and len(exported["applications"]) == 10
    # A few pages, not a list per tenant (roles were read tenant by tenant: 1,000 queries,
    # which outlasted the request's deadline on a slow machine); the change feed's polls and
    # the writers may add a handful meanwhile.
    assert len(statements) < 50, len(statements)
    text = yaml.safe_dump(exported, sort_keys=False)
    planned = await client.post(
        "/admin/v1/apply?dry_run=true&prune=true", content=text, headers=YAML
    )
    assert planned.status_code == 200, planned.text[:500]
    assert planned.json()["steps"] == []
    round_trip = time.monotonic()
    again = await client.post(
        "/admin/v1/apply?dry_run=true", json=generated(1000, 10), headers=ADMIN
    )
    assert again.json()["steps"] == []
    print(
        f"\n1,000 tenants: made in {applied - started:.1f} s; "
        f"export + YAML dry run in {round_trip - applied:.2f} s"
    )
