"""client secrets may expire

Revision ID: 0008
Revises: 0007

``client_secrets.expires_at``: when the secret stops authenticating (seconds since the epoch,
UTC), or null for never, which is what every existing secret keeps. The index serves
``tenantgate app list --expiring`` and ``?expiring_within_days=``.

On SQLite the column is added in place (``ALTER TABLE … ADD COLUMN``), never by copying the
table in batch mode (see 0007).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEX = "ix_client_secrets_expires_at"


def upgrade() -> None:
    op.add_column("client_secrets", sa.Column("expires_at", sa.Double(), nullable=True))
    op.create_index(INDEX, "client_secrets", ["expires_at"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="client_secrets")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE client_secrets DROP COLUMN expires_at")
        return
    op.drop_column("client_secrets", "expires_at")
