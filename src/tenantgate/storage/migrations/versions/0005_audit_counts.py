"""audit trail: a row may stand for several refusals

Revision ID: 0005
Revises: 0004

Refused requests are counted per group and minute (``storage/refusals.py``): such a row
carries how many refusals it stands for. Every other row stands for one event.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.add_column(
            sa.Column("count", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_column("count")
