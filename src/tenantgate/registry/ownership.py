"""Who owns an application: a console account that an operator names, directly or through a
one-time invite that a signed-in developer redeems.

Ownership never follows from an e-mail. An account's e-mail is whatever was typed at sign-up,
and nobody verified it, so matching it against anything hands the application to whoever typed
it first. Sign-up therefore owns nothing. An invite is a code of 256 random bits, shown once to
the operator, kept as its SHA-256, good for one use until it expires
(``TENANTGATE_CONSOLE_INVITE_TTL``); holding it is the proof, and redeeming it with a signed-in
developer account makes that account the owner. An application has at most one pending invite,
and a change of owner withdraws it.

Only the console reads ownership, from the database; the token endpoint and the gateway never
do, so these writes add audit rows but no change-feed rows."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantgate.clock import Clock, Randomness
from tenantgate.crypto import sha256_hex
from tenantgate.registry import rules
from tenantgate.registry.errors import Gone, InvalidInput, NotFound
from tenantgate.registry.paging import MAX_ID
from tenantgate.registry.views import InviteView, NewInvite, iso
from tenantgate.storage import models as m
from tenantgate.storage.audit import audit_row
from tenantgate.storage.database import Database

OWNER_ROLE = "developer"
INVITE_CODE = re.compile(r"^tgi_[A-Za-z0-9_-]{43}$")
KEEP_SPENT = 30 * 86400
"""Seconds a used or expired invite is kept after it expired, so that it is refused as used or
expired rather than as unknown."""
UNKNOWN = (
    "This invite is not valid: the link is incomplete, or the operator withdrew it or sent a "
    "newer one. Ask the operator for a new invite."
)
USED = "This invite has been used already; each invite works once. Ask the operator for a new one."


class Ownership:
    def __init__(
        self, db: Database, *, clock: Clock, randomness: Randomness, invite_ttl: float
    ) -> None:
        self._db = db
        self._clock = clock
        self._random = randomness
        self._ttl = invite_ttl

    async def assign(self, application_id: str, account_id: int | None, actor: str) -> None:
        """Make ``account_id`` (a developer) the owner, or leave the application without one
        (``None``). A change withdraws the pending invite."""
        async with self._db.begin_serialized() as session:
            now = self._clock()
            row = await _application(session, application_id, lock=True)
            email = None
            if account_id is not None:
                email = (await owner_account(session, account_id)).email
            previous = row.owner_account_id
            if previous == account_id:
                return
            row.owner_account_id, row.updated_at = account_id, now
            await _withdraw(session, application_id)
            _audit(
                session,
                "application.owner_removed" if email is None else "application.owner_assigned",
                actor,
                now,
                application_id,
                account_id=account_id,
                email=email,
                previous_account_id=previous,
            )

    async def invite(self, application_id: str, actor: str) -> NewInvite:
        """A new invite, replacing the pending one; its code is in the answer and nowhere else."""
        code = "tgi_" + self._random.secret(32)
        async with self._db.begin_serialized() as session:
            now = self._clock()
            application = await _application(session, application_id, lock=True)
            await _withdraw(session, application_id)
            invites = m.ApplicationInvite
            await session.execute(delete(invites).where(invites.expires_at < now - KEEP_SPENT))
            row = m.ApplicationInvite(
                invite_id="inv_" + self._random.urlsafe(16),
                code_hash=sha256_hex(code),
                application_id=application_id,
                created_by=actor,
                created_at=now,
                expires_at=now + self._ttl,
            )
            session.add(row)
            view = _view(row, application)
            _audit(
                session,
                "application.invite_created",
                actor,
                now,
                application_id,
                invite_id=row.invite_id,
                expires_at=view.expires_at,
            )
        return NewInvite(view, code)

    async def pending_invite(self, application_id: str) -> InviteView | None:
        invites = m.ApplicationInvite
        query = select(invites).where(
            invites.application_id == application_id,
            invites.used_at.is_(None),
            invites.expires_at > self._clock(),
        )
        async with self._db.session() as session:
            row = await session.scalar(query)
            if row is None:
                return None
            return _view(row, await _application(session, application_id))

    async def withdraw(self, application_id: str, actor: str) -> None:
        async with self._db.begin_serialized() as session:
            await _application(session, application_id, lock=True)
            if await _withdraw(session, application_id):
                now = self._clock()
                _audit(session, "application.invite_withdrawn", actor, now, application_id)

    async def invitation(self, code: str) -> InviteView:
        """The invite with this code, if it can still be redeemed; otherwise NotFound or Gone,
        with a description that says why."""
        async with self._db.session() as session:
            row = await self._usable(session, code, self._clock())
            return _view(row, await _application(session, row.application_id))

    async def redeem(self, code: str, account_id: int, actor: str) -> InviteView:
        """Make ``account_id`` the owner of the invite's application and use the invite up. The
        invite is marked used by one conditional update, so of two redemptions at once one wins
        and the other is refused. Every write here locks the application first (on SQLite the
        whole database), so two of them never wait on each other's rows."""
        async with self._db.begin_serialized() as session:
            now = self._clock()
            row = await self._usable(session, code, now)
            account = await owner_account(session, account_id)
            application = await _application(session, row.application_id, lock=True)
            invites = m.ApplicationInvite
            marked = await session.execute(
                update(invites)
                .where(
                    invites.invite_id == row.invite_id,
                    invites.used_at.is_(None),
                    invites.expires_at > now,
                )
                .values(used_at=now, used_by=account_id)
            )
            if marked.rowcount != 1:  # type: ignore[attr-defined]
                raise Gone(USED)
            previous = application.owner_account_id
            application.owner_account_id, application.updated_at = account_id, now
            await _withdraw(session, row.application_id)
            _audit(
                session,
                "application.invite_redeemed",
                actor,
                now,
                row.application_id,
                invite_id=row.invite_id,
                account_id=account_id,
                email=account.email,
                previous_account_id=previous,
            )
            return _view(row, application)

    async def _usable(self, session: AsyncSession, code: str, now: float) -> m.ApplicationInvite:
        row = None
        if INVITE_CODE.fullmatch(code):
            query = select(m.ApplicationInvite).where(
                m.ApplicationInvite.code_hash == sha256_hex(code)
            )
            row = await session.scalar(query)
        if row is None:
            raise NotFound(UNKNOWN)
        if row.used_at is not None:
            raise Gone(USED)
        if row.expires_at <= now:
            raise Gone(
                f"This invite expired at {iso(row.expires_at)}. Ask the operator for a new one."
            )
        return row


async def owner_account(session: AsyncSession, account_id: int) -> m.Account:
    """The account, if it may own applications: an enabled developer."""
    row = await session.get(m.Account, account_id) if 1 <= account_id <= MAX_ID else None
    if row is None:
        raise InvalidInput(f"owner_account_id: no account {account_id}")
    if row.role != OWNER_ROLE:
        raise InvalidInput("owner_account_id: only a developer account owns applications")
    if row.disabled:
        raise InvalidInput(f"owner_account_id: account {account_id} is disabled")
    return row


async def _application(
    session: AsyncSession, application_id: str, *, lock: bool = False
) -> m.Application:
    row = None
    if rules.APPLICATION_ID.fullmatch(application_id):
        row = await session.get(m.Application, application_id, with_for_update=lock)
    if row is None:
        raise NotFound(f"no application {application_id}")
    return row


async def _withdraw(session: AsyncSession, application_id: str) -> bool:
    """Delete the application's pending invites; whether there was one."""
    invites = m.ApplicationInvite
    done = await session.execute(
        delete(invites).where(invites.application_id == application_id, invites.used_at.is_(None))
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def _audit(
    session: AsyncSession,
    kind: str,
    actor: str,
    now: float,
    application_id: str,
    **detail: Any,
) -> None:
    session.add(
        m.AuditEvent(**audit_row(kind, actor, now, application_id=application_id, **detail))
    )


def _view(row: m.ApplicationInvite, application: m.Application) -> InviteView:
    return InviteView(
        row.invite_id,
        row.application_id,
        application.name,
        iso(row.created_at),
        iso(row.expires_at),
    )
