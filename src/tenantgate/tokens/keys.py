"""Signing keys (Ed25519), kept in the database so that every node and every restart signs and
verifies with the same keys. The newest unretired key signs. A retired key verifies only tokens
issued before its retirement (give or take the clock leeway, for a node that signed with it
before it heard of the rotation), and leaves the JWKS and every node's verifier, on a timer,
once the longest-lived token it can have signed is past its expiry and the leeway."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm
from sqlalchemy import select, update

from tenantgate.clock import Clock, Randomness
from tenantgate.crypto import Sealer
from tenantgate.storage import models as m
from tenantgate.storage.audit import audit_row
from tenantgate.storage.changes import record
from tenantgate.storage.database import Database

ALGORITHM = "EdDSA"


class WrongServerSecret(RuntimeError):
    """The database's signing keys were sealed under another server secret."""


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey | None
    public: Ed25519PublicKey
    jwk: dict[str, Any]
    created_at: float
    retired_at: float | None

    def signed_in_time(self, issued_at: float, leeway: float) -> bool:
        """Whether a token issued at ``issued_at`` may carry this key's signature."""
        return self.retired_at is None or issued_at <= self.retired_at + leeway

    @cached_property
    def _header(self) -> bytes:
        return _b64(orjson.dumps({"alg": ALGORITHM, "kid": self.kid, "typ": "at+jwt"}))

    def sign(self, claims: dict[str, Any]) -> str:
        """A JWS in compact serialization (RFC 7515 §7.1). Written out rather than through
        PyJWT because it is the token endpoint's hot path: the header segment is encoded once
        per key and orjson serialises the claims, which saves about a third of the cost of
        issuing a token. Verification still goes through PyJWT."""
        assert self.private is not None
        signing_input = self._header + b"." + _b64(orjson.dumps(claims))
        return (signing_input + b"." + _b64(self.private.sign(signing_input))).decode()


class KeyRing:
    def __init__(
        self,
        db: Database,
        sealer: Sealer,
        clock: Clock,
        randomness: Randomness,
        ttl: int,
        leeway: float = 30.0,
    ) -> None:
        self._db = db
        self._sealer = sealer
        self._clock = clock
        self._random = randomness
        self._ttl = ttl
        self.leeway = leeway
        self.keys: dict[str, SigningKey] = {}
        self.signing: SigningKey | None = None
        self.jwks: dict[str, Any] = {"keys": []}
        self._task: asyncio.Task[None] | None = None
        self._loading = asyncio.Lock()

    async def load(self) -> None:
        """Reads the keys and publishes them. Loads take turns (a rotation here, the change
        feed's poll and its notifications each load): one that read before a rotation
        committed would otherwise publish after the load that followed the rotation, and put
        the retired key back to signing tokens that every verifier then refuses."""
        async with self._loading:
            rows = await self._read()
            now = self._clock()
            self._publish(
                {r.kid: self._unseal(r) for r in rows if not self._expired(r.retired_at, now)}
            )

    async def _read(self) -> Sequence[m.SigningKey]:
        async with self._db.session() as session:
            return (await session.scalars(select(m.SigningKey))).all()

    def drop_expired(self) -> float | None:
        """Forget the retired keys whose tokens have all expired; the seconds until the next
        retired key is due to go (None: none is retired)."""
        now = self._clock()
        keys = {kid: k for kid, k in self.keys.items() if not self._expired(k.retired_at, now)}
        if len(keys) != len(self.keys):
            self._publish(keys)
        due = [self._gone_at(k.retired_at) - now for k in keys.values() if k.retired_at]
        return max(0.0, min(due)) if due else None

    def start(self, every: float = 60.0) -> None:
        """Drop retired keys on time on this node, whether or not anything else changes."""

        async def run() -> None:
            while True:
                due = self.drop_expired()
                await asyncio.sleep(every if due is None else min(every, due + 0.01))

        self._task = asyncio.create_task(run(), name="tenantgate-key-retirement")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _publish(self, keys: dict[str, SigningKey]) -> None:
        live = [k for k in keys.values() if k.retired_at is None]
        self.keys = keys
        self.signing = max(live, key=lambda k: k.created_at) if live else None
        self.jwks = {"keys": [k.jwk for k in sorted(keys.values(), key=lambda k: -k.created_at)]}

    async def ensure(self) -> None:
        await self.load()
        if self.signing is None:
            await self.rotate("system")

    async def rotate(self, actor: str) -> str:
        """A new key signs from now on; the previous ones are retired but still verify."""
        now = self._clock()
        private = Ed25519PrivateKey.generate()
        kid = self._random.urlsafe(16)
        jwk = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
        jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        async with self._db.begin() as session:
            await session.execute(
                update(m.SigningKey).where(m.SigningKey.retired_at.is_(None)).values(retired_at=now)
            )
            session.add(
                m.SigningKey(
                    kid=kid,
                    alg=ALGORITHM,
                    private_key=self._sealer.seal(pem),
                    public_jwk=jwk,
                    created_at=now,
                )
            )
            session.add(m.AuditEvent(**audit_row("key.rotated", actor, now, kid=kid)))
            record(session, "keys", kid, now)
        await self.load()
        return kid

    def _gone_at(self, retired_at: float) -> float:
        """The last token a retired key verifies was issued at most ``leeway`` after the
        retirement and expires ``ttl`` later; an app checking it against the JWKS with a clock
        behind may accept it until ``leeway`` after that."""
        return retired_at + self.leeway + self._ttl + self.leeway

    def _expired(self, retired_at: float | None, now: float) -> bool:
        return retired_at is not None and self._gone_at(retired_at) <= now

    def _unseal(self, row: m.SigningKey) -> SigningKey:
        try:
            pem = self._sealer.open(row.private_key)
        except InvalidTag:
            raise WrongServerSecret(
                f"signing key {row.kid} cannot be decrypted: TENANTGATE_SECRET_KEY (or the "
                "secret file) differs from the one this database was set up with"
            ) from None
        private = serialization.load_pem_private_key(pem, None)
        assert isinstance(private, Ed25519PrivateKey)
        return SigningKey(
            row.kid, private, private.public_key(), row.public_jwk, row.created_at, row.retired_at
        )
