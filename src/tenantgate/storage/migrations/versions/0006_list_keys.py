"""indexes in the order the admin lists page

Revision ID: 0006
Revises: 0005

Each list is read a page at a time after a key (``storage/keyset.py``): applications and
tenants by creation time then id, a tenant's API users by creation time then application id,
a tenant's async-context payloads by id. With an index in that order the database starts at
the key and stops after one page, however long the list. These tables hold registrations, not
traffic, so building the indexes takes well under a second at a hundred thousand rows.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_applications_created": ("applications", ["created_at", "application_id"]),
    "ix_tenants_created": ("tenants", ["created_at", "tenant_id"]),
    "ix_api_users_tenant_created": ("api_users", ["tenant_id", "created_at", "application_id"]),
    "ix_async_context_tenant_id": ("async_context_payloads", ["tenant_id", "id"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
