"""What the contract says must happen, written apart from the server: who holds which secret,
which tenant has which apps, which API user covers what, which token was issued when and by
which key. It decides the answer the server owes; the state machine compares.

A disable, a delete or a suspension (of the tenant, or of the application) ends every token of
the pairs it touches for good, so each pair counts its kills (``epochs``) and a token remembers
the count it was issued under: reactivating brings none back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TTL, LEEWAY = 900, 30
APPS = ("sdmo", "shopfloor", "crm")
CLUSTERS = ("cluster-a", "cluster-b")


class Short:
    """A one-line repr in a failing example's report, which prints every value drawn."""

    def _repr_pretty_(self, printer: Any, _cycle: bool) -> None:
        printer.text(repr(self))


@dataclass(repr=False)
class Application(Short):
    application_id: str
    client_id: str
    secrets: dict[str, str]  # active: secret id -> the secret
    retired: list[str] = field(default_factory=list)
    active: bool = True

    def __repr__(self) -> str:
        state = "active" if self.active else "suspended"
        return f"<application {self.application_id}, {len(self.secrets)} secrets, {state}>"


@dataclass(repr=False)
class Tenant(Short):
    tenant_id: str
    cluster: str
    apps: set[str] = field(default_factory=set)
    active: bool = True

    def __repr__(self) -> str:
        state = "active" if self.active else "suspended"
        return f"<tenant {self.tenant_id} on {self.cluster}, apps {sorted(self.apps)}, {state}>"


@dataclass
class ApiUser:
    enabled: bool
    apps: frozenset[str] | None  # None: every app of the tenant


@dataclass(repr=False)
class Token(Short):
    value: str
    tenant_id: str
    application_id: str
    client_id: str
    apps: frozenset[str]
    epoch: int
    iat: int
    exp: int
    kid: str
    invalidated: bool = False

    def __repr__(self) -> str:
        ended = ", invalidated" if self.invalidated else ""
        return (
            f"<token of {self.application_id} for {self.tenant_id}, apps {sorted(self.apps)}, "
            f"iat {self.iat}, exp {self.exp}, key {self.kid}{ended}>"
        )


@dataclass
class Key:
    retired_at: float | None = None

    def gone_at(self) -> float:
        """When its last possible token is past expiry and the leeway: it leaves the ring."""
        assert self.retired_at is not None
        return self.retired_at + LEEWAY + TTL + LEEWAY


@dataclass
class Ring:
    """The signing keys, shared by every example: they live as long as the server."""

    keys: dict[str, Key]
    signing: str

    def rotate(self, kid: str, now: float) -> None:
        for key in self.keys.values():
            if key.retired_at is None:
                key.retired_at = now
        self.keys[kid] = Key()
        self.signing = kid

    def drop_expired(self, now: float) -> None:
        for kid in [k for k, key in self.keys.items() if key.retired_at is not None]:
            if self.keys[kid].gone_at() <= now:
                del self.keys[kid]

    def refusal(self, token: Token, now: float) -> str | None:
        key = self.keys.get(token.kid)
        if key is None:
            return "its key left the ring"
        if key.retired_at is not None and token.iat > key.retired_at + LEEWAY:
            return "signed after its key was retired"
        if token.exp - token.iat > TTL + LEEWAY:
            return "lives longer than the server issues tokens"
        if token.iat > now + LEEWAY:
            return "issued in the future"
        return None


@dataclass
class Model:
    ring: Ring
    applications: dict[str, Application] = field(default_factory=dict)
    tenants: dict[str, Tenant] = field(default_factory=dict)
    api_users: dict[tuple[str, str], ApiUser] = field(default_factory=dict)
    epochs: dict[tuple[str, str], int] = field(default_factory=dict)
    tokens: list[Token] = field(default_factory=list)

    def application_of(self, client_id: str) -> Application | None:
        return next((a for a in self.applications.values() if a.client_id == client_id), None)

    def kill(self, pair: tuple[str, str]) -> None:
        self.epochs[pair] = self.epochs.get(pair, 0) + 1

    def suspend(self, *, tenant_id: str | None = None, application_id: str | None = None) -> None:
        """Kills every pair of the tenant, or of the application."""
        for pair in list(self.api_users):
            if pair[0] == tenant_id or pair[1] == application_id:
                self.kill(pair)

    def allowed_apps(self, tenant_id: str, application_id: str) -> list[str]:
        tenant, user = self.tenants[tenant_id], self.api_users[(tenant_id, application_id)]
        return sorted(a for a in tenant.apps if user.apps is None or a in user.apps)

    def token_refusal(self, client_id: str, secret: str, tenant_id: str) -> str | None:
        """The OAuth error ``POST /v1/token`` owes, None for a token."""
        application = self.application_of(client_id)
        if application is None or secret not in application.secrets.values():
            return "invalid_client"
        if not application.active:
            return "invalid_client"
        tenant = self.tenants.get(tenant_id)
        user = self.api_users.get((tenant_id, application.application_id))
        if tenant is None or not tenant.active or user is None or not user.enabled:
            return "access_denied"
        return None

    def refusal(self, token: Token, now: float) -> str | None:
        """Why ``token`` is not live at ``now``; None when it is."""
        if token.invalidated:
            return "invalidated"
        if token.exp <= now:
            return "expired"
        signature = self.ring.refusal(token, now)
        if signature is not None:
            return signature
        pair = (token.tenant_id, token.application_id)
        user = self.api_users.get(pair)
        if user is None or not user.enabled or self.epochs.get(pair, 0) != token.epoch:
            return "api user disabled, deleted or re-created since"
        if not self.applications[token.application_id].active:
            return "application suspended"
        if not self.tenants[token.tenant_id].active:
            return "tenant suspended"
        return None

    def out_of_reach(self, token: Token, cluster: str, app: str) -> str | None:
        """Why a live token may not reach ``<cluster>/<app>``; None when it may."""
        tenant = self.tenants[token.tenant_id]
        user = self.api_users[(token.tenant_id, token.application_id)]
        if cluster != tenant.cluster:
            return "the tenant is on another cluster"
        if app not in tenant.apps:
            return "the tenant has no such app"
        if app not in token.apps:
            return "the token was not issued for the app"
        if user.apps is not None and app not in user.apps:
            return "the API user does not cover the app"
        return None
