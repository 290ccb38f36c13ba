"""The parts of a running tenantgate, built once from ``Settings`` and shared by the HTTP
layers, the console and the CLI."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select

from tenantgate.asynccontext.store import PayloadStore
from tenantgate.clock import Clock, Randomness, system_clock
from tenantgate.crypto import Sealer, SecretHasher, derive, load_server_secret, sha256_hex
from tenantgate.metrics import Metrics
from tenantgate.proof import GatewayProof
from tenantgate.registry.feed import ChangeFeed
from tenantgate.registry.ownership import Ownership
from tenantgate.registry.service import Registry
from tenantgate.registry.state import RegistryState
from tenantgate.settings import Settings
from tenantgate.storage import models as m
from tenantgate.storage.audit import audit_row
from tenantgate.storage.batch import BatchWriter
from tenantgate.storage.changes import record
from tenantgate.storage.database import Database
from tenantgate.storage.migrate import migrate
from tenantgate.storage.refusals import RefusalTally
from tenantgate.storage.retention import AuditRetention
from tenantgate.tokens.issuer import TokenIssuer
from tenantgate.tokens.keys import KeyRing
from tenantgate.tokens.ratelimit import FailureLimiter, FailurePolicy, SharedWindows
from tenantgate.tokens.verifier import TokenVerifier

log = structlog.get_logger(__name__)

ADMIN_TOKEN_KEY = "admin_token_sha256"


def shared_windows(settings: Settings) -> SharedWindows | None:
    if not settings.redis_url:
        return None
    from tenantgate.tokens.redis_windows import RedisWindows  # only where Redis is used

    return RedisWindows(
        settings.redis_url,
        prefix=settings.redis_prefix,
        window=settings.failure_window,
        timeout=settings.redis_timeout,
    )


def failure_policy(settings: Settings) -> FailurePolicy:
    limit = settings.failure_limit
    return FailurePolicy(
        per_pair=limit,
        per_address=settings.failure_limit_per_address or 5 * limit,
        per_client=settings.failure_limit_per_client or 10 * limit,
        window=settings.failure_window,
    )


@dataclass
class Services:
    settings: Settings
    db: Database
    state: RegistryState
    feed: ChangeFeed
    keys: KeyRing
    registry: Registry
    batch: BatchWriter
    refusals: RefusalTally
    retention: AuditRetention
    limiter: FailureLimiter
    issuer: TokenIssuer
    verifier: TokenVerifier
    hasher: SecretHasher
    clock: Clock
    randomness: Randomness
    gateway_proof: GatewayProof
    ownership: Ownership
    payloads: PayloadStore | None = None
    metrics: Metrics = field(default_factory=Metrics)
    admin_token_hash: str | None = None
    started: bool = False
    new_admin_token: str | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock = system_clock,
        randomness: Randomness | None = None,
    ) -> Services:
        randomness = randomness or Randomness()
        secret = load_server_secret(settings.secret_key, settings.data_dir)
        hasher = SecretHasher(derive(secret, "tenantgate client secrets"))
        db = Database(
            settings.database_url,
            timeout=settings.database_timeout,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        state = RegistryState()
        metrics = Metrics(state)
        feed = ChangeFeed(
            db,
            state,
            clock,
            settings.change_poll_interval,
            max_staleness=settings.max_staleness,
            metrics=metrics,
        )
        metrics.watch_feed(feed.staleness)
        keys = KeyRing(
            db,
            Sealer(derive(secret, "tenantgate signing keys")),
            clock,
            randomness,
            settings.token_ttl,
            settings.clock_leeway,
        )
        batch = BatchWriter(
            settings.database_url,
            settings.commit_interval_ms,
            metrics=metrics,
            timeout=settings.database_timeout,
            pool_size=settings.writer_pool_size,
        )
        refusals = RefusalTally(batch, clock, max_groups=settings.audit_refusal_groups)
        retention = AuditRetention(db, clock, settings.audit_retention_days)
        limiter = FailureLimiter(
            failure_policy(settings), clock, shared=shared_windows(settings), metrics=metrics
        )
        registry = Registry(
            db,
            feed,
            hasher,
            clock=clock,
            randomness=randomness,
            api_user_domain=settings.api_user_domain,
        )
        issuer = TokenIssuer(
            state=state,
            feed=feed,
            keys=keys,
            hasher=hasher,
            batch=batch,
            refusals=refusals,
            limiter=limiter,
            clock=clock,
            randomness=randomness,
            ttl=settings.token_ttl,
            audience=settings.token_audience,
            metrics=metrics,
        )
        verifier = TokenVerifier(
            state,
            keys,
            clock,
            settings.token_audience,
            current=feed.is_current,
            max_lifetime=settings.token_ttl,
            leeway=settings.clock_leeway,
        )
        return cls(
            settings,
            db,
            state,
            feed,
            keys,
            registry,
            batch,
            refusals,
            retention,
            limiter,
            issuer,
            verifier,
            hasher,
            clock,
            randomness,
            GatewayProof(derive(secret, "tenantgate gateway proof")),
            Ownership(
                db, clock=clock, randomness=randomness, invite_ttl=settings.console_invite_ttl
            ),
            payloads=PayloadStore(db, clock),
            metrics=metrics,
        )

    async def open(self, *, background: bool = True) -> None:
        """Migrate, load the state and the keys; with ``background`` (a server), start the
        group-commit writer and the change-feed poller, and make the admin token if there is
        none yet. A one-shot command (``background=False``) never makes it: nobody would see it,
        and the first server would then have none to print."""
        await migrate(self.db)
        await self.feed.load()
        await self.keys.ensure()
        self.feed.listen(self._on_change)
        await self._admin_token(mint=background)
        await self.limiter.open()
        if background:
            self.batch.start()
            self.refusals.start()
            self.retention.start()
            self.keys.start()
            self.feed.start()
        self.started = True

    async def close(self) -> None:
        await self.feed.stop()
        await self.retention.stop()
        await self.keys.stop()
        await self.refusals.stop()
        await self.batch.stop()
        await self.limiter.close()
        await self.db.dispose()

    async def _on_change(self, entity: str, _key: str) -> None:
        if entity == "keys":
            await self.keys.load()
        elif entity == "admin_token":
            await self._admin_token()

    async def _admin_token(self, *, mint: bool = False) -> None:
        if self.settings.admin_token:
            self.admin_token_hash = sha256_hex(self.settings.admin_token)
            return
        async with self.db.begin() as session:
            row = await session.scalar(
                select(m.ServerState).where(m.ServerState.key == ADMIN_TOKEN_KEY)
            )
            if row is None and not mint:
                self.admin_token_hash = None
                return
            if row is None:
                token = "tga_" + secrets.token_urlsafe(32)
                row = m.ServerState(key=ADMIN_TOKEN_KEY, value=sha256_hex(token))
                session.add(row)
                self.new_admin_token = token
        self.admin_token_hash = row.value

    async def reset_admin_token(self) -> str:
        token = "tga_" + secrets.token_urlsafe(32)
        async with self.db.begin() as session:
            row = await session.get(m.ServerState, ADMIN_TOKEN_KEY)
            if row is None:
                session.add(m.ServerState(key=ADMIN_TOKEN_KEY, value=sha256_hex(token)))
            else:
                row.value = sha256_hex(token)
            session.add(m.AuditEvent(**audit_row("admin_token.reset", "cli", self.clock())))
            record(session, "admin_token", ADMIN_TOKEN_KEY, self.clock())
        self.admin_token_hash = sha256_hex(token)
        return token
