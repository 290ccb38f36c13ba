"""Console accounts: who may sign in, with which role, for which tenants. Passwords are hashed
with argon2id; hashing runs in a thread so the event loop keeps serving tokens meanwhile."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantgate.console.errors import Conflict, InvalidInput, NotFound
from tenantgate.registry.views import iso
from tenantgate.services import Services
from tenantgate.storage import models as m
from tenantgate.storage.audit import audit_row

OPERATOR, DEVELOPER, TENANT_ADMIN = "operator", "developer", "tenant_admin"
ROLES = (OPERATOR, DEVELOPER, TENANT_ADMIN)
ROLE_LABELS = {OPERATOR: "Operator", DEVELOPER: "Developer", TENANT_ADMIN: "Tenant admin"}
MIN_PASSWORD, MAX_PASSWORD = 10, 1024
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): strong for passwords,
# and cheap enough that a burst of sign-in attempts cannot exhaust the server's memory.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
_dummy_hash: str | None = None


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    role: str
    tenant_ids: tuple[str, ...]
    disabled: bool
    created_at: str | None

    @property
    def actor(self) -> str:
        return f"console:{self.email}"

    @property
    def is_operator(self) -> bool:
        return self.role == OPERATOR

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    def administers(self, tenant_id: str) -> bool:
        return self.is_operator or (self.role == TENANT_ADMIN and tenant_id in self.tenant_ids)

    def owns(self, owner_account_id: int | None) -> bool:
        """Operators manage every application; a developer the ones whose owner account is
        theirs. An e-mail never counts: ownership is set by an operator only."""
        return self.is_operator or (self.role == DEVELOPER and owner_account_id == self.id)


def normalise_email(value: str) -> str:
    email = value.strip().lower()
    if not EMAIL.match(email):
        raise InvalidInput("Enter an e-mail address such as ada@example.com.")
    return email


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD} characters.")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput("The role must be operator, developer or tenant_admin.")
    return role


async def create_account(
    services: Services,
    email: str,
    password: str,
    role: str,
    tenant_ids: list[str] | tuple[str, ...] = (),
    *,
    actor: str = "cli",
) -> Account:
    """Create an account. A tenant admin needs at least one existing tenant; other roles none."""
    email, role = normalise_email(email), check_role(role)
    password_hash = await asyncio.to_thread(_hasher.hash, check_password(password))
    tenants = sorted(set(tenant_ids))
    if role == TENANT_ADMIN and not tenants:
        raise InvalidInput("A tenant admin needs at least one tenant.")
    if role != TENANT_ADMIN and tenants:
        raise InvalidInput("Only tenant admins have tenants.")
    now = services.clock()
    try:
        async with services.db.begin() as session:
            await _check_tenants(session, tenants)
            if await session.scalar(select(m.Account.id).where(m.Account.email == email)):
                raise Conflict("An account with this e-mail already exists.")
            row = m.Account(
                email=email, password_hash=password_hash, role=role, created_at=now, disabled=False
            )
            session.add(row)
            await session.flush()
            session.add_all(m.AccountTenant(account_id=row.id, tenant_id=t) for t in tenants)
            event = audit_row(
                "account.created", actor, now, email=email, role=role, tenants=tenants
            )
            session.add(m.AuditEvent(**event))
    except IntegrityError as error:
        raise Conflict("An account with this e-mail already exists.") from error
    return _view(row, tenants)


async def authenticate(services: Services, email: str, password: str) -> Account | None:
    """The enabled account with this e-mail and password, or None. Unknown e-mails cost the
    same argon2 work as known ones, so timing does not tell which exist."""
    try:
        email = normalise_email(email)
    except InvalidInput:
        email = ""
    async with services.db.session() as session:
        row = await session.scalar(select(m.Account).where(m.Account.email == email))
    stored = row.password_hash if row is not None else await _dummy()
    if not await asyncio.to_thread(_verify, stored, password[:MAX_PASSWORD]):
        return None
    if row is None or row.disabled:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        await _rehash(services, row.id, password)
    return await get_account(services, row.id)


async def get_account(services: Services, account_id: int) -> Account:
    async with services.db.session() as session:
        row = await session.get(m.Account, account_id)
        if row is None:
            raise NotFound("No such account.")
        return _view(row, await _tenant_ids(session, account_id))


async def find_account(services: Services, email: str) -> Account | None:
    """The account with exactly this e-mail (as the console stores it: lower case)."""
    async with services.db.session() as session:
        query = select(m.Account.id).where(m.Account.email == normalise_email(email))
        account_id = await session.scalar(query)
    return None if account_id is None else await get_account(services, account_id)


async def emails(services: Services, account_ids: list[int]) -> dict[int, str]:
    if not account_ids:
        return {}
    query = select(m.Account.id, m.Account.email).where(m.Account.id.in_(set(account_ids)))
    async with services.db.session() as session:
        return {account_id: email for account_id, email in await session.execute(query)}


async def list_accounts(services: Services) -> list[Account]:
    async with services.db.session() as session:
        rows = (await session.scalars(select(m.Account).order_by(m.Account.email))).all()
        links = (await session.scalars(select(m.AccountTenant))).all()
    tenants: dict[int, list[str]] = {}
    for link in links:
        tenants.setdefault(link.account_id, []).append(link.tenant_id)
    return [_view(row, sorted(tenants.get(row.id, []))) for row in rows]


async def set_disabled(services: Services, account_id: int, disabled: bool, actor: str) -> None:
    """Disable or re-enable an account; disabling ends its sessions at once."""
    now = services.clock()
    async with services.db.begin() as session:
        row = await session.get(m.Account, account_id)
        if row is None:
            raise NotFound("No such account.")
        if row.disabled == disabled:
            return
        row.disabled = disabled
        if disabled:
            await session.execute(
                delete(m.ConsoleSession).where(m.ConsoleSession.account_id == account_id)
            )
        kind = "account.disabled" if disabled else "account.enabled"
        session.add(m.AuditEvent(**audit_row(kind, actor, now, email=row.email)))


async def _check_tenants(session: AsyncSession, tenant_ids: list[str]) -> None:
    if not tenant_ids:
        return
    query = select(m.Tenant.tenant_id).where(m.Tenant.tenant_id.in_(tenant_ids))
    found = set((await session.scalars(query)).all())
    missing = [t for t in tenant_ids if t not in found]
    if missing:
        raise InvalidInput(f"No tenant {missing[0]}.")


async def _tenant_ids(session: AsyncSession, account_id: int) -> list[str]:
    query = select(m.AccountTenant.tenant_id).where(m.AccountTenant.account_id == account_id)
    return sorted((await session.scalars(query)).all())


async def _rehash(services: Services, account_id: int, password: str) -> None:
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    async with services.db.begin() as session:
        row = await session.get(m.Account, account_id)
        if row is not None:
            row.password_hash = password_hash


async def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = await asyncio.to_thread(_hasher.hash, "not a password of anyone")
    return _dummy_hash


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _view(row: m.Account, tenant_ids: list[str]) -> Account:
    return Account(
        row.id, row.email, row.role, tuple(tenant_ids), row.disabled, iso(row.created_at)
    )
