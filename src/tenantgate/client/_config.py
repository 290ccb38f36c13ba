"""What a client is configured with: its credentials and its retry policy."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._errors import MissingSetting

ENV_TOKEN_URL = "TENANTGATE_TOKEN_URL"
ENV_CLIENT_ID = "TENANTGATE_CLIENT_ID"
ENV_CLIENT_SECRET = "TENANTGATE_CLIENT_SECRET"
ENV_TENANT_ID = "TENANTGATE_TENANT_ID"

CacheKey = tuple[str, str, str]


@dataclass(frozen=True)
class Credentials:
    """An application's client credentials for one tenant, and where to use them."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    tenant_id: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read ``TENANTGATE_TOKEN_URL``, ``_CLIENT_ID``, ``_CLIENT_SECRET``, ``_TENANT_ID``."""
        env = os.environ if environ is None else environ
        return cls(
            token_url=_required(env, ENV_TOKEN_URL),
            client_id=_required(env, ENV_CLIENT_ID),
            client_secret=_required(env, ENV_CLIENT_SECRET),
            tenant_id=_required(env, ENV_TENANT_ID),
        )

    @property
    def scope(self) -> str:
        return f"tenantid:{self.tenant_id}"

    @property
    def cache_key(self) -> CacheKey:
        return (self.token_url, self.client_id, self.tenant_id)


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep asking the Token API while it answers ``429 slow_down``.

    At most ``max_retries`` retries, and never more than ``max_wait`` seconds of waiting in
    all: a ``Retry-After`` that would go past it raises ``RateLimited`` at once. Without a
    ``Retry-After``, waits ``backoff`` seconds, doubling each time.
    """

    max_retries: int = 3
    max_wait: float = 30.0
    backoff: float = 1.0

    def delay(self, attempt: int, retry_after: float | None, waited: float) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``, or None to give up."""
        if attempt >= self.max_retries:
            return None
        wait = self.backoff * 2**attempt if retry_after is None else max(retry_after, 0.0)
        return wait if waited + wait <= self.max_wait else None


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise MissingSetting(f"{name} is not set")
    return value
