"""applications are owned by a console account, not by an e-mail string; one-time invites

Revision ID: 0007
Revises: 0006

Until now the console let an account manage every application whose free-text ``owner`` was
its e-mail. With sign-up open, anyone could sign up with that e-mail (in any letter case: the
console lowercases it) and take the application over. From here on ownership is
``applications.owner_account_id``, a reference to ``accounts.id`` that only an operator sets,
directly or through an invite (``application_invites``); ``owner`` stays as a contact label
that grants nothing.

Which existing applications get an owner: an e-mail match alone proves nothing, since the
account with that e-mail may have been made by whoever typed it at sign-up, so matching by
e-mail is exactly the takeover. An application is linked to the developer account whose
e-mail is, exactly, its ``owner`` only where the audit trail shows that the link did not come
from a sign-up:

- the account registered the application itself in the console (its ``application.created``
  event was written by ``console:<that e-mail>``), or
- an operator created the account (its ``account.created`` event was written by ``cli`` or an
  operator's console session, not by ``console:sign-up``).

Everything else is left without an owner: operators still see and manage it, and re-assign it
or send an invite. Events pruned by ``TENANTGATE_AUDIT_RETENTION_DAYS`` prove nothing, so
older applications are left without an owner too.

On SQLite the column is added in place (``ALTER TABLE … ADD COLUMN … REFERENCES``): copying the
table in batch mode would drop ``applications``, and with foreign keys on that deletes every
secret and API user by cascade.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SIGN_UP = "console:sign-up"
INDEX = "ix_applications_owner_account"
FOREIGN_KEY = "fk_applications_owner_account_id_accounts"

applications = sa.table(
    "applications",
    sa.column("application_id", sa.String),
    sa.column("owner", sa.String),
    sa.column("owner_account_id", sa.Integer),
)
accounts = sa.table(
    "accounts", sa.column("id", sa.Integer), sa.column("email", sa.String), sa.column("role")
)
audit = sa.table(
    "audit_events",
    sa.column("kind", sa.String),
    sa.column("actor", sa.String),
    sa.column("application_id", sa.String),
    sa.column("detail", sa.JSON),
)


def upgrade() -> None:
    _add_owner_column()
    op.create_index(INDEX, "applications", ["owner_account_id", "created_at", "application_id"])
    op.create_table(
        "application_invites",
        sa.Column("invite_id", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("used_at", sa.Double(), nullable=True),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.application_id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["used_by"], ["accounts.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("invite_id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_index(
        "ix_application_invites_application_id", "application_invites", ["application_id"]
    )
    _link_proven_owners(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_application_invites_application_id", table_name="application_invites")
    op.drop_table("application_invites")
    op.drop_index(INDEX, table_name="applications")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE applications DROP COLUMN owner_account_id")
        return
    op.drop_constraint(FOREIGN_KEY, "applications", type_="foreignkey")
    op.drop_column("applications", "owner_account_id")


def _add_owner_column() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE applications ADD COLUMN owner_account_id INTEGER "
            "REFERENCES accounts (id) ON DELETE SET NULL"
        )
        return
    op.add_column("applications", sa.Column("owner_account_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        FOREIGN_KEY, "applications", "accounts", ["owner_account_id"], ["id"], ondelete="SET NULL"
    )


def _link_proven_owners(bind: sa.Connection) -> None:
    query = sa.select(applications.c.application_id, applications.c.owner).where(
        applications.c.owner.is_not(None)
    )
    owned = bind.execute(query).all()
    if not owned:
        return
    query = sa.select(accounts.c.email, accounts.c.id).where(accounts.c.role == "developer")
    developers = {email: account_id for email, account_id in bind.execute(query)}
    registered_by = _registered_by(bind)
    made_by = _accounts_made_by(bind)
    for application_id, owner in owned:
        account_id = developers.get(owner)
        if account_id is None:
            continue
        registered_itself = registered_by.get(application_id) == f"console:{owner}"
        made_by_operator = bool(made_by[owner]) and SIGN_UP not in made_by[owner]
        if registered_itself or made_by_operator:
            bind.execute(
                applications.update()
                .where(applications.c.application_id == application_id)
                .values(owner_account_id=account_id)
            )


def _registered_by(bind: sa.Connection) -> dict[str, str]:
    """Who wrote each application's ``application.created`` event."""
    query = sa.select(audit.c.application_id, audit.c.actor).where(
        audit.c.kind == "application.created", audit.c.application_id.is_not(None)
    )
    return {application_id: actor for application_id, actor in bind.execute(query)}


def _accounts_made_by(bind: sa.Connection) -> defaultdict[str, set[str]]:
    """Who wrote the ``account.created`` events of each e-mail."""
    made_by: defaultdict[str, set[str]] = defaultdict(set)
    query = sa.select(audit.c.detail, audit.c.actor).where(audit.c.kind == "account.created")
    for detail, actor in bind.execute(query):
        if isinstance(detail, dict) and isinstance(detail.get("email"), str):
            made_by[detail["email"]].add(actor)
    return made_by
