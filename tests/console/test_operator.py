"""The operator: tenants and their apps, accounts, the audit trail, the live view."""

from __future__ import annotations

import re

from tenantgate.console import accounts, charts
from tenantgate.storage import models as m
from tenantgate.storage.audit import audit_row


async def test_the_operator_creates_a_tenant_sets_it_up_and_adds_an_app(operator, services):
    await operator.get("/console/tenants")
    response = await operator.submit(
        "/console/tenants", {"name": "Globex", "region": "eu", "cluster": "cluster-release"}
    )
    assert response.status_code == 303
    tenant_id = response.headers["location"].split("/")[-1].split("?")[0]
    await operator.submit(
        f"/console/tenants/{tenant_id}",
        {"name": "Globex", "region": "na", "cluster": "cluster-two", "status": "active"},
    )
    await operator.submit(
        f"/console/tenants/{tenant_id}/apps",
        {"app": "sdmo", "graphql_url": "http://127.0.0.1:9/graphql"},
    )
    tenant = await services.registry.get_tenant(tenant_id)
    assert (tenant.region, tenant.cluster) == ("na", "cluster-two")
    assert [a.name for a in tenant.apps] == ["sdmo"]
    assert operator.page is not None and "http://127.0.0.1:9/graphql" in operator.page.text


async def test_bad_tenant_input_is_shown_on_the_form(operator):
    await operator.get("/console/tenants")
    response = await operator.submit(
        "/console/tenants", {"name": "Bad", "region": "EU West", "cluster": "c"}
    )
    assert response.status_code == 400
    assert "region must be lower-case" in response.text
    assert 'value="Bad"' in response.text, "the form keeps what was typed"


async def test_the_operator_creates_a_tenant_admin_who_can_sign_in(operator, services, visitors):
    tenant = await services.registry.create_tenant("Initech", "eu", "c", "test")
    await operator.get("/console/accounts")
    response = await operator.submit(
        "/console/accounts",
        {
            "email": "Admin@Initech.example",
            "password": "a long enough password",
            "role": "tenant_admin",
            "tenant_ids": [tenant.tenant_id],
        },
    )
    assert response.status_code == 303
    created = next(
        a for a in await accounts.list_accounts(services) if a.email == "admin@initech.example"
    )
    assert created.tenant_ids == (tenant.tenant_id,)
    admin = visitors(address="198.51.100.40")
    await admin.sign_in("admin@initech.example", "a long enough password")
    assert admin.page is not None and "Initech" in admin.page.text


async def test_a_tenant_admin_without_a_tenant_is_refused(operator):
    await operator.get("/console/accounts")
    response = await operator.submit(
        "/console/accounts",
        {"email": "x@example.com", "password": "a long enough password", "role": "tenant_admin"},
    )
    assert response.status_code == 400
    assert "needs at least one tenant" in response.text


async def test_the_audit_trail_filters_and_pages(operator, services):
    tenant = await services.registry.create_tenant("Audited", "eu", "c", "test")
    for n in range(60):
        await services.registry.put_app(tenant.tenant_id, f"app{n}", "http://a/g", None, "test")
    first = await operator.get("/console/audit", tenant_id=tenant.tenant_id, kind="app.*")
    assert first.status_code == 200
    assert first.text.count("<code>app.put</code>") == 50
    assert "app=app59" in first.text
    older = re.search(r'href="(/console/audit\?[^"]*cursor=[^"]+)">Older', first.text)
    assert older
    second = await operator.get(older.group(1).replace("&amp;", "&"))
    assert second.text.count("<code>app.put</code>") == 10
    assert "app=app0" in second.text and "Older events" not in second.text
    assert "« Newest" in second.text
    tampered = await operator.get("/console/audit", cursor="not-a-cursor")
    assert tampered.status_code == 400 and "cursor" in tampered.text
    bad = await operator.get("/console/audit", since="yesterday")
    assert bad.status_code == 400 and "From must be a date" in bad.text


async def test_token_minutes_counts_issued_and_refused_per_minute(services):
    minute = 4_000_000_020 // 60 * 60  # far from any other test's events
    now = minute + 45
    rows = [
        audit_row("token.issued", "c", minute + 5),
        audit_row("token.issued", "c", minute + 40),
        audit_row("token.refused", "c", minute + 40, reason="invalid_client"),
        audit_row("token.issued", "c", minute - 59 * 60),
        audit_row("token.issued", "c", minute - 60 * 60),
        audit_row("token.invalidated", "c", minute + 1),
    ]
    async with services.db.begin() as session:
        session.add_all(m.AuditEvent(**row) for row in rows)
    counts = await charts.token_minutes(services.db, now)
    assert len(counts.issued) == len(counts.refused) == 60
    assert counts.issued[-1] == 2 and counts.refused[-1] == 1
    assert counts.issued[0] == 1, "the first of the 60 minutes counts; the one before does not"
    assert sum(counts.issued) == 3 and sum(counts.refused) == 1
    chart = charts.layout(counts)
    assert len(chart.bars) == 60 and chart.peak == 5
    assert chart.bars[-1].label.endswith("2 issued, 1 refused")


async def test_the_overview_draws_the_chart(operator):
    page = await operator.get("/console/overview")
    assert "<svg" in page.text and 'role="img"' in page.text
    assert "Tokens per minute, last hour" in page.text
    fragment = await operator.get("/console/overview/chart")
    assert fragment.text.startswith('<figure class="chart"')
