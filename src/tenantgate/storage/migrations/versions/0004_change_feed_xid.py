"""change feed: transaction ids and notifications

Revision ID: 0004
Revises: 0003

On PostgreSQL each ``changes`` row records the id of the transaction that wrote it
(``pg_current_xact_id()``, a server default, so every writer gets it without asking) and an
insert wakes the nodes listening on ``tenantgate_changes``. The reader's rule is in
``registry/feed.py``. On SQLite the column stays empty: ids commit in order there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION tenantgate_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tenantgate_changes', '');
    RETURN NULL;
END
$$
"""

NOTIFY_TRIGGER = """
CREATE TRIGGER changes_notify AFTER INSERT ON changes
FOR EACH STATEMENT EXECUTE FUNCTION tenantgate_notify_change()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table("changes") as batch_op:
            batch_op.add_column(sa.Column("xid", sa.BigInteger(), nullable=True))
        return
    op.add_column(
        "changes",
        sa.Column(
            "xid",
            sa.BigInteger(),
            nullable=False,
            server_default=sa.text("(pg_current_xact_id()::text)::bigint"),
        ),
    )
    op.create_index("ix_changes_xid", "changes", ["xid"])
    op.execute(NOTIFY_FUNCTION)
    op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS changes_notify ON changes")
        op.execute("DROP FUNCTION IF EXISTS tenantgate_notify_change()")
        op.drop_index("ix_changes_xid", table_name="changes")
    with op.batch_alter_table("changes") as batch_op:
        batch_op.drop_column("xid")
