"""The audit trail is read newest first by when things happened, whatever order the rows were
committed in: a group commit, or another node, may store an earlier event after a later one."""

from __future__ import annotations

from tenantgate.services import Services
from tenantgate.storage import models as m
from tenantgate.storage.audit import audit_row, query_audit


async def test_events_are_newest_first_by_time_then_id(services: Services) -> None:
    kind = "test.order"
    committed_in_this_order = [300.0, 100.0, 200.0, 200.0]
    async with services.db.begin() as session:
        for n, at in enumerate(committed_in_this_order):
            session.add(m.AuditEvent(**audit_row(kind, f"test:{n}", at)))

    async with services.db.session() as session:
        events = await query_audit(session, kind=kind)
        after_first = await query_audit(session, kind=kind, before_id=events[0].id)
        after_second = await query_audit(session, kind=kind, before_id=events[1].id)

    assert [(e.at, e.actor) for e in events] == [
        (300.0, "test:0"),
        (200.0, "test:3"),
        (200.0, "test:2"),
        (100.0, "test:1"),
    ]
    assert after_first == events[1:]
    assert after_second == events[2:]
