"""The parts of a running tenantgate, built once from ``Settings`` and shared by the HTTP
layers, the console and the CLI."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from tenantgate.admin.token import CHANGE as ADMIN_TOKEN_CHANGE
from tenantgate.admin.token import AdminToken
from tenantgate.asynccontext.store import PayloadStore
from tenantgate.clock import Clock, Randomness, system_clock
from tenantgate.crypto import Sealer, SecretHasher, derive, load_server_secret
from tenantgate.metrics import Metrics
from tenantgate.proof import GatewayProof
from tenantgate.registry.feed import ChangeFeed
from tenantgate.registry.ownership import Ownership
from tenantgate.registry.service import Registry
from tenantgate.registry.state import RegistryState
from tenantgate.settings import Settings
from tenantgate.storage.batch import BatchWriter
from tenantgate.storage.database import Database
from tenantgate.storage.migrate import migrate
from tenantgate.storage.refusals import RefusalTally
from tenantgate.storage.retention import AuditRetention
from tenantgate.storage.usage import UsageTally
from tenantgate.tokens.caller import Callers
from tenantgate.tokens.issuer import TokenIssuer
from tenantgate.tokens.keys import KeyRing
from tenantgate.tokens.ratelimit import FailureLimiter, FailurePolicy, SharedWindows
from tenantgate.tokens.verifier import TokenVerifier

if TYPE_CHECKING:  # the gateway package (run by importing its modules) imports this one
    from tenantgate.gateway.policy import Policy
    from tenantgate.gateway.ratelimit import RateLimiter

log = structlog.get_logger(__name__)


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
    admin_token: AdminToken
    callers: Callers
    usage: UsageTally
    rates: RateLimiter
    """The gateway's rate limits and daily quotas, one count per node for HTTP and WebSocket."""
    policy: Policy
    """What the gateway checks in a GraphQL document, one cache of analyses per node for HTTP
    and WebSocket."""
    payloads: PayloadStore | None = None
    metrics: Metrics = field(default_factory=Metrics)
    started: bool = False

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock = system_clock,
        randomness: Randomness | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> Services:
        """``monotonic`` is what the change feed measures its staleness by."""
        from tenantgate.gateway.policy import node_policy  # see TYPE_CHECKING above
        from tenantgate.gateway.ratelimit import rate_limiter

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
        metrics = Metrics(state, clock)
        feed = ChangeFeed(
            db,
            state,
            clock,
            settings.change_poll_interval,
            max_staleness=settings.max_staleness,
            metrics=metrics,
            monotonic=monotonic,
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
        usage = UsageTally(batch, clock)
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
            secret_lifetime_days=settings.secret_lifetime_days,
        )
        admin_token = AdminToken(db, clock, settings.admin_token)
        callers = Callers(state, hasher, limiter, clock, admin_token)
        issuer = TokenIssuer(
            state=state,
            feed=feed,
            keys=keys,
            callers=callers,
            batch=batch,
            refusals=refusals,
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
            admin_token,
            callers,
            usage,
            rate_limiter(settings, clock),
            node_policy(settings, state),
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
        await self.admin_token.load(mint=background)
        await self.limiter.open()
        await self.rates.open()
        if background:
            self.batch.start()
            self.refusals.start()
            self.usage.start()
            self.retention.start()
            self.keys.start()
            self.feed.start()
        self.started = True

    async def close(self) -> None:
        await self.feed.stop()
        await self.retention.stop()
        await self.keys.stop()
        await self.refusals.stop()
        await self.usage.stop()
        await self.batch.stop()
        await self.limiter.close()
        await self.rates.close()
        await self.db.dispose()

    async def _on_change(self, entity: str, _key: str) -> None:
        if entity == "keys":
            await self.keys.load()
        elif entity == ADMIN_TOKEN_CHANGE:
            await self.admin_token.load()
