"""Server-side console sessions. The cookie holds a random id and its HMAC under a key derived
from the server secret; the database holds only the id's SHA-256, the account and the CSRF
token. Signing out, or disabling the account, deletes the row and so ends the session."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete

from tenantgate.console import csrf
from tenantgate.console.accounts import Account, get_account
from tenantgate.console.errors import NotFound
from tenantgate.crypto import sha256_hex
from tenantgate.services import Services
from tenantgate.storage import models as m

COOKIE = "tg_console"
ANONYMOUS_COOKIE = "tg_console_csrf"
LIFETIME = 8 * 3600


@dataclass(frozen=True)
class Session:
    id_hash: str
    account: Account
    csrf_token: str


class Sessions:
    def __init__(self, services: Services, key: bytes) -> None:
        self._services = services
        self._key = key

    async def start(self, account: Account) -> tuple[str, Session]:
        """A new session for a freshly signed-in account, and the cookie value naming it."""
        session_id = secrets.token_urlsafe(32)
        now = self._services.clock()
        row = m.ConsoleSession(
            id_hash=sha256_hex(session_id),
            account_id=account.id,
            csrf_token=csrf.new_token(),
            created_at=now,
            expires_at=now + LIFETIME,
        )
        async with self._services.db.begin() as db:
            await db.execute(delete(m.ConsoleSession).where(m.ConsoleSession.expires_at < now))
            db.add(row)
        return self._sign(session_id), Session(row.id_hash, account, row.csrf_token)

    async def load(self, cookie: str | None) -> Session | None:
        session_id = self._unsign(cookie)
        if session_id is None:
            return None
        async with self._services.db.session() as db:
            row = await db.get(m.ConsoleSession, sha256_hex(session_id))
        if row is None or row.expires_at <= self._services.clock():
            return None
        try:
            account = await get_account(self._services, row.account_id)
        except NotFound:
            return None
        if account.disabled:
            return None
        return Session(row.id_hash, account, row.csrf_token)

    async def end(self, session: Session) -> None:
        async with self._services.db.begin() as db:
            await db.execute(
                delete(m.ConsoleSession).where(m.ConsoleSession.id_hash == session.id_hash)
            )

    def _sign(self, session_id: str) -> str:
        return f"{session_id}.{self._mac(session_id)}"

    def _unsign(self, cookie: str | None) -> str | None:
        if not cookie or cookie.count(".") != 1:
            return None
        session_id, mac = cookie.split(".")
        if not hmac.compare_digest(mac.encode(), self._mac(session_id).encode()):
            return None
        return session_id

    def _mac(self, session_id: str) -> str:
        return hmac.new(self._key, b"session:" + session_id.encode(), hashlib.sha256).hexdigest()
