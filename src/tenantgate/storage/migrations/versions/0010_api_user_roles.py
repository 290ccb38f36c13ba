"""API users hold roles

Revision ID: 0010
Revises: 0009

``api_users.roles``: the names of the tenant's roles an API user holds, as a JSON list, or null
for none (it may then do whatever its apps allow, as before). Every existing API user keeps
null. On SQLite the column is added in place (``ALTER TABLE … ADD COLUMN``), never by copying
the table in batch mode (see 0007).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_users", sa.Column("roles", sa.JSON(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE api_users DROP COLUMN roles")
        return
    op.drop_column("api_users", "roles")
