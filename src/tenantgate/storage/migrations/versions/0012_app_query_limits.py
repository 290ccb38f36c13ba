"""query limits per app

Revision ID: 0012
Revises: 0011

``tenant_apps.limits``: an app's own query limits (``max_depth``, ``max_aliases``,
``max_root_fields``, ``max_tokens``, ``introspection``, each optional) as a JSON object, or
null for the operator's defaults, which every existing app keeps. On SQLite the column is added
in place (``ALTER TABLE … ADD COLUMN``), never by copying the table in batch mode (see 0007).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tenant_apps", sa.Column("limits", sa.JSON(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE tenant_apps DROP COLUMN limits")
        return
    op.drop_column("tenant_apps", "limits")
