"""gateway usage per key and minute

Revision ID: 0011
Revises: 0010

``usage_minutes`` (requests, upstream status classes, a latency histogram of 25 buckets) and
``usage_codes`` (the gateway's refusals and failures by code), per (tenant, application, app)
and minute, written by each node with the group commit (``storage/usage.py``). New tables, so
nothing existing is copied or rebuilt, on SQLite or PostgreSQL. The columns are spelt out here,
not read from the code, so that this revision stays what it was if the histogram changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

COUNTS = ("requests", "s2xx", "s3xx", "s4xx", "s5xx", *(f"l{i:02d}" for i in range(25)))


def _key() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("application_id", sa.String(length=20), nullable=True),
        sa.Column("app", sa.String(length=100), nullable=True),
    ]


def _indexes(table: str) -> None:
    op.create_index(f"ix_{table}_minute", table, ["minute"])
    op.create_index(f"ix_{table}_tenant_minute", table, ["tenant_id", "minute"])
    op.create_index(f"ix_{table}_application_minute", table, ["application_id", "minute"])


def upgrade() -> None:
    op.create_table(
        "usage_minutes",
        *_key(),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
    )
    _indexes("usage_minutes")
    op.create_table(
        "usage_codes",
        *_key(),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    _indexes("usage_codes")


def downgrade() -> None:
    op.drop_table("usage_codes")
    op.drop_table("usage_minutes")
