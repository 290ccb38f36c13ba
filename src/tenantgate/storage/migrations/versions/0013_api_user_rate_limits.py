"""rate limits and daily quotas per API user

Revision ID: 0013
Revises: 0012

``api_users.rate_limit`` (``{"requests_per_minute", "burst"}``, each optional, as JSON) and
``api_users.daily_quota`` (requests per UTC day): null for the operator's defaults, which every
existing API user keeps. On SQLite the columns are added in place (``ALTER TABLE … ADD
COLUMN``), never by copying the table in batch mode (see 0007).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COLUMNS = ("rate_limit", "daily_quota")


def upgrade() -> None:
    op.add_column("api_users", sa.Column("rate_limit", sa.JSON(), nullable=True))
    op.add_column("api_users", sa.Column("daily_quota", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for column in COLUMNS:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE api_users DROP COLUMN {column}")
        else:
            op.drop_column("api_users", column)
