"""The operator's bearer: the admin API's, and the one /metrics and introspection also accept.

Either ``TENANTGATE_ADMIN_TOKEN`` (kept only as its hash in memory), or a token made by the
first server that starts on a database without one, kept there as a SHA-256 in
``server_state`` and shown once. ``tenantgate admin-token reset`` replaces it; the change feed
brings the new hash to every running node."""

from __future__ import annotations

import asyncio
import hmac
import secrets

from sqlalchemy import select

from tenantgate.clock import Clock
from tenantgate.crypto import sha256_hex
from tenantgate.storage import models as m
from tenantgate.storage.audit import audit_row
from tenantgate.storage.changes import record
from tenantgate.storage.database import Database

KEY = "admin_token_sha256"
CHANGE = "admin_token"


class AdminToken:
    def __init__(self, db: Database, clock: Clock, configured: str | None) -> None:
        self._db = db
        self._clock = clock
        self._configured = configured
        self._hash: str | None = None
        self._new: str | None = None
        # Loads and resets take turns: a load that read the hash just before a reset
        # committed could otherwise put the old hash back after it, and the token the reset
        # was meant to end would be accepted again here until the next change.
        self._turns = asyncio.Lock()

    def matches(self, token: str | None) -> bool:
        """Whether ``token`` is the admin token, compared in constant time."""
        if not token or self._hash is None:
            return False
        return hmac.compare_digest(sha256_hex(token), self._hash)

    def take_new(self) -> str | None:
        """The token this node made at its start, once: the caller prints it."""
        token, self._new = self._new, None
        return token

    async def load(self, *, mint: bool = False) -> None:
        """Reads the hash; with ``mint`` (a server starting), makes the token if there is none.
        A one-shot command never mints: nobody would see the token."""
        if self._configured:
            self._hash = sha256_hex(self._configured)
            return
        async with self._turns:
            self._hash = await self._stored(mint)

    async def _stored(self, mint: bool) -> str | None:
        async with self._db.begin() as session:
            row = await session.scalar(select(m.ServerState).where(m.ServerState.key == KEY))
            if row is None and mint:
                token = "tga_" + secrets.token_urlsafe(32)
                row = m.ServerState(key=KEY, value=sha256_hex(token))
                session.add(row)
                self._new = token
            return None if row is None else row.value

    async def reset(self) -> str:
        """A new token in place of the old one, on the audit trail and the change feed."""
        token = "tga_" + secrets.token_urlsafe(32)
        async with self._turns:
            async with self._db.begin() as session:
                row = await session.get(m.ServerState, KEY)
                if row is None:
                    session.add(m.ServerState(key=KEY, value=sha256_hex(token)))
                else:
                    row.value = sha256_hex(token)
                session.add(m.AuditEvent(**audit_row("admin_token.reset", "cli", self._clock())))
                record(session, CHANGE, KEY, self._clock())
            self._hash = sha256_hex(token)
        return token
