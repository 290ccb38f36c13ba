"""Random stories against the real server. An operator registers, suspends and moves
applications and tenants and rotates the signing key; tenant admins accept applications,
limit, disable, re-enable and delete API users; integrators ask for tokens, use, invalidate
and revoke them; an attacker signs with a leaked key or sends what is no token; the clock
moves, across expiries too. Each answer is the one the model (``model.py``) says the contract
owes, and after every step each token the example holds is tried at the gateway: no token
reaches an app its API user does not cover at that moment, and none survives invalidation,
disable, delete, expiry or its key's retirement.

One server per backend serves every example (each makes its own tenants and applications);
the test moves its clock and runs the key-retirement timer's rounds.
``TENANTGATE_PROPERTY_EXAMPLES`` and ``TENANTGATE_PROPERTY_STEPS`` make the run longer."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from typing import Any, TypeVar

import httpx
import hypothesis
import jwt
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tenantgate.settings import Settings
from tests.conftest import ManualClock
from tests.factories import ADMIN
from tests.properties.model import (
    APPS,
    CLUSTERS,
    LEEWAY,
    TTL,
    ApiUser,
    Application,
    Model,
    Tenant,
    Token,
)
from tests.properties.world import World, world
from tests.tokens.calls import basic, claims

T = TypeVar("T")

EXAMPLES = int(os.environ.get("TENANTGATE_PROPERTY_EXAMPLES", "60"))
STEPS = int(os.environ.get("TENANTGATE_PROPERTY_STEPS", "15"))
PROFILE = hypothesis.settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
OPERATOR = (
    "register an application",
    "add a secret",
    "retire a secret",
    "suspend an application",
    "reactivate an application",
    "create a tenant",
    "add an app",
    "remove an app",
    "suspend a tenant",
    "reactivate a tenant",
    "move a tenant",
    "rotate the signing key",
)
TENANT_ADMIN = ("accept", "disable", "re-enable", "narrow or widen", "delete")
INTEGRATOR = (
    "call the gateway",
    "call the gateway on the other cluster",
    "introspect",
    "invalidate",
    "invalidate among other pairs",
    "revoke",
)
ATTACKER = ("sign with a leaked key", "send no token", "tamper with a token")
# None (every app of the tenant) or any subset, each as likely as the others
SOME_APPS = st.sampled_from(
    [None, *(frozenset(a for i, a in enumerate(APPS) if n >> i & 1) for n in range(8))]
)
TIME_STEPS = (1, LEEWAY + 1, 120, TTL // 2, TTL + LEEWAY + 1, "to an expiry", "to before one")
# A leaked key signs whatever it likes: iat around now, lifetimes around the server's.
FORGED_IAT = (-TTL, -LEEWAY - 1, 0, LEEWAY, LEEWAY + 1, 120)
FORGED_LIFETIME = (60, TTL, TTL + LEEWAY, TTL + LEEWAY + 1)
NO_TOKENS = ("", "not a token", "a.b.c", "eyJhbGciOiJub25lIn0.e30.")
MAX_TOKENS = 6  # then the oldest is forgotten: each step tries every token at the gateway
QUERY = {"query": "{ __typename }"}
UNKNOWN_TENANT = "Nobody_has_this_id_00"
UNKNOWN_CLIENT = "NoSuchClient000000000000"
WRONG_SECRET = "tgs_" + "x" * 43


class TokenLifecycle(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        self.model = Model(self.world.ring)
        self.kids = [self.model.ring.signing]  # the keys this example has seen sign
        self.steps = 0

    def http(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.world.run(self.world.client.request(method, url, **kwargs))

    def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.http(method, "/admin/v1" + path, json=body, headers=ADMIN)

    def now(self) -> float:
        return self.world.clock()

    def pick(self, data: st.DataObject, items: list[T]) -> T:
        return data.draw(st.sampled_from(items))

    @initialize()
    def a_tenant_has_accepted_an_application(self) -> None:
        application = self.register_an_application()
        tenant = self.create_a_tenant(CLUSTERS[0])
        for app in APPS[:2]:
            self.put_app(tenant, app)
        self.put_api_user((tenant.tenant_id, application.application_id), True, None)
        secret = next(iter(application.secrets.values()))
        self.token_request("form", application.client_id, secret, tenant.tenant_id)

    # the actors

    @rule(
        data=st.data(),
        action=st.sampled_from(OPERATOR),
        app=st.sampled_from(APPS),
        cluster=st.sampled_from(CLUSTERS),
    )
    def the_operator_acts(self, data: st.DataObject, action: str, app: str, cluster: str) -> None:
        application = self.pick(data, list(self.model.applications.values()))
        tenant = self.pick(data, list(self.model.tenants.values()))
        match action:
            case "register an application":
                self.register_an_application()
            case "add a secret":
                self.add_a_secret(application)
            case "retire a secret":
                self.retire_a_secret(application, self.pick(data, [*application.secrets, "-"]))
            case "suspend an application" | "reactivate an application":
                self.set_application_status(application, action.startswith("reactivate"))
            case "create a tenant":
                self.create_a_tenant(cluster)
            case "add an app":
                self.put_app(tenant, app)
            case "remove an app":
                self.remove_app(tenant, app)
            case "suspend a tenant" | "reactivate a tenant":
                status = "active" if action.startswith("reactivate") else "suspended"
                self.patch_tenant(tenant, {"status": status})
            case "move a tenant":
                self.patch_tenant(tenant, {"cluster": cluster})
            case "rotate the signing key":
                self.kids.append(self.world.run(self.world.rotate()))

    @rule(
        data=st.data(), action=st.sampled_from(TENANT_ADMIN), enabled=st.booleans(), apps=SOME_APPS
    )
    def a_tenant_admin_acts(
        self, data: st.DataObject, action: str, enabled: bool, apps: frozenset[str] | None
    ) -> None:
        """Accept (a new API user, or the whole of one written again) or delete any pair;
        disable, re-enable, narrow or widen an API user that exists."""
        if action in ("accept", "delete") or not self.model.api_users:
            tenant = self.pick(data, list(self.model.tenants))
            pair = (tenant, self.pick(data, list(self.model.applications)))
            if action == "delete":
                self.delete_api_user(pair)
            else:
                self.put_api_user(pair, enabled, apps)
            return
        pair, user = self.pick(data, list(self.model.api_users.items()))
        if action == "narrow or widen":
            self.put_api_user(pair, user.enabled, apps)
        else:
            self.put_api_user(pair, action == "re-enable", user.apps)

    @rule(data=st.data(), how=st.sampled_from(["form", "basic", "json"]), plausible=st.booleans())
    def an_integrator_asks_for_a_token(
        self, data: st.DataObject, how: str, plausible: bool
    ) -> None:
        """Plausible: for an API user, with a secret that was once the application's."""
        application: Application | None
        if plausible and self.model.api_users:
            tenant_id, application_id = self.pick(data, list(self.model.api_users))
            application = self.model.applications[application_id]
        else:
            tenant_id = self.pick(data, [*self.model.tenants, UNKNOWN_TENANT])
            applications = [*self.model.applications.values()]
            application = data.draw(st.none() | st.sampled_from(applications))
        secrets = [*application.secrets.values(), *application.retired] if application else []
        if not plausible:
            secrets.append(WRONG_SECRET)
        secret = self.pick(data, secrets or [WRONG_SECRET])
        client_id = application.client_id if application else UNKNOWN_CLIENT
        self.token_request(how, client_id, secret, tenant_id)

    @rule(
        data=st.data(),
        action=st.sampled_from(INTEGRATOR),
        newest=st.booleans(),
        method=st.sampled_from(["POST", "GET"]),
        app=st.sampled_from(APPS),
    )
    def an_integrator_uses_a_token(
        self, data: st.DataObject, action: str, newest: bool, method: str, app: str
    ) -> None:
        """``newest``: the token the last step made, which makes short stories of it likely
        (signed ahead, then invalidated, then the clock catches up)."""
        if not self.model.tokens:
            return
        token = self.model.tokens[-1] if newest else self.pick(data, self.model.tokens)
        match action:
            case "call the gateway" | "call the gateway on the other cluster":
                cluster = self.model.tenants[token.tenant_id].cluster
                if action.endswith("other cluster"):
                    cluster = next(c for c in CLUSTERS if c != cluster)
                self.check_gateway(method, token, cluster, app)
            case "introspect":
                self.introspect(token)
            case "revoke":
                application = self.pick(data, list(self.model.applications.values()))
                known = [*application.secrets.values(), *application.retired, WRONG_SECRET]
                self.revoke(token, application, self.pick(data, known))
            case _:
                self.invalidate(token, among_other_pairs=action.endswith("pairs"))

    @rule(
        data=st.data(),
        action=st.sampled_from(ATTACKER),
        iat=st.sampled_from(FORGED_IAT),
        lifetime=st.sampled_from(FORGED_LIFETIME),
    )
    def an_attacker_acts(self, data: st.DataObject, action: str, iat: int, lifetime: int) -> None:
        """A leaked key (current, retired or gone) signs a copy of a token's claims with times
        of its own; or the gateway gets a bearer that is no token, or a token tampered with."""
        if action == "send no token" or not self.model.tokens:
            self.expect_no_entry(self.pick(data, list(NO_TOKENS)))
            return
        template = self.pick(data, self.model.tokens)
        if action == "tamper with a token":
            value = template.value
            self.expect_no_entry(value[:-6] + ("B" if value.endswith("A") else "A") * 6)
            return
        kid = self.pick(data, self.kids)
        issued = int(self.now()) + iat
        forged = {**claims(template.value), "jti": secrets.token_urlsafe(16), "iat": issued}
        forged["exp"] = issued + lifetime
        value = self.world.keys[kid].sign(forged)
        self.remember(
            Token(
                value,
                template.tenant_id,
                template.application_id,
                template.client_id,
                template.apps,
                template.epoch,
                issued,
                issued + lifetime,
                kid,
            )
        )

    @rule(data=st.data(), step=st.sampled_from(TIME_STEPS))
    def time_passes(self, data: st.DataObject, step: int | str) -> None:
        """By a step, or to a token's expiry (or to the second before it)."""
        if isinstance(step, str):
            token = self.pick(data, self.model.tokens) if self.model.tokens else None
            offset = -1 if step == "to before one" else 0
            step = max(0, token.exp + offset - int(self.now())) if token else 1
        self.world.run(self.world.advance(step))

    @invariant()
    def every_token_reaches_what_the_model_says(self) -> None:
        """After every step: each token at the gateway, on its tenant's cluster, for every app
        while the model says it is live (one app, changing step by step, once it is not), and
        the JWKS publishes exactly the ring."""
        self.steps += 1
        for i, token in enumerate(self.model.tokens):
            live = self.model.refusal(token, self.now()) is None
            cluster = self.model.tenants[token.tenant_id].cluster
            for app in APPS if live else [APPS[(self.steps + i) % len(APPS)]]:
                self.check_gateway("POST", token, cluster, app)
        published = self.http("GET", "/.well-known/jwks.json").json()["keys"]
        assert {k["kid"] for k in published} == set(self.model.ring.keys)

    # the registry

    def register_an_application(self) -> Application:
        response = self.admin("POST", "/applications", {"name": "Property integration"})
        assert response.status_code == 201, response.text
        body = response.json()
        application = Application(
            body["application_id"], body["client_id"], {body["secret_id"]: body["client_secret"]}
        )
        self.model.applications[application.application_id] = application
        return application

    def add_a_secret(self, application: Application) -> None:
        response = self.admin("POST", f"/applications/{application.application_id}/secrets")
        if len(application.secrets) >= 2:
            assert response.status_code == 409, response.text
            return
        assert response.status_code == 201, response.text
        body = response.json()
        application.secrets[body["secret_id"]] = body["client_secret"]

    def retire_a_secret(self, application: Application, secret_id: str) -> None:
        path = f"/applications/{application.application_id}/secrets/{secret_id}"
        response = self.admin("DELETE", path)
        if secret_id not in application.secrets:
            assert response.status_code == 404, response.text
            return
        assert response.status_code == 204, response.text
        application.retired.append(application.secrets.pop(secret_id))

    def set_application_status(self, application: Application, active: bool) -> None:
        body = {"status": "active" if active else "suspended"}
        response = self.admin("PATCH", f"/applications/{application.application_id}", body)
        assert response.status_code == 200, response.text
        if application.active and not active:
            self.model.suspend(application_id=application.application_id)
        application.active = active

    def create_a_tenant(self, cluster: str) -> Tenant:
        body = {"name": "Property tenant", "region": "eu", "cluster": cluster}
        response = self.admin("POST", "/tenants", body)
        assert response.status_code == 201, response.text
        tenant = Tenant(response.json()["tenant_id"], cluster)
        self.model.tenants[tenant.tenant_id] = tenant
        return tenant

    def put_app(self, tenant: Tenant, app: str) -> None:
        url = f"{self.world.echo_url}/echo/{tenant.tenant_id}.{app}"
        path = f"/tenants/{tenant.tenant_id}/apps/{app}"
        response = self.admin("PUT", path, {"graphql_url": url})
        assert response.status_code == (200 if app in tenant.apps else 201), response.text
        tenant.apps.add(app)

    def remove_app(self, tenant: Tenant, app: str) -> None:
        response = self.admin("DELETE", f"/tenants/{tenant.tenant_id}/apps/{app}")
        assert response.status_code == (204 if app in tenant.apps else 404), response.text
        tenant.apps.discard(app)

    def patch_tenant(self, tenant: Tenant, body: dict[str, str]) -> None:
        response = self.admin("PATCH", f"/tenants/{tenant.tenant_id}", body)
        assert response.status_code == 200, response.text
        tenant.cluster = body.get("cluster", tenant.cluster)
        active = body.get("status", "active" if tenant.active else "suspended") == "active"
        if tenant.active and not active:
            self.model.suspend(tenant_id=tenant.tenant_id)
        tenant.active = active

    def put_api_user(
        self, pair: tuple[str, str], enabled: bool, apps: frozenset[str] | None
    ) -> None:
        old = self.model.api_users.get(pair)
        body = {
            "first_name": "Api",
            "last_name": "User",
            "enabled": enabled,
            "apps": None if apps is None else sorted(apps),
        }
        response = self.admin("PUT", f"/tenants/{pair[0]}/api-users/{pair[1]}", body)
        assert response.status_code == (201 if old is None else 200), response.text
        if old is not None and old.enabled and not enabled:
            self.model.kill(pair)
        self.model.api_users[pair] = ApiUser(enabled, apps)

    def delete_api_user(self, pair: tuple[str, str]) -> None:
        response = self.admin("DELETE", f"/tenants/{pair[0]}/api-users/{pair[1]}")
        if pair not in self.model.api_users:
            assert response.status_code == 404, response.text
            return
        assert response.status_code == 204, response.text
        del self.model.api_users[pair]
        self.model.kill(pair)

    # the Token API

    def token_request(self, how: str, client_id: str, secret: str, tenant_id: str) -> None:
        request = _token_request(how, client_id, secret, tenant_id)
        response = self.http("POST", "/v1/token", **request)
        refusal = self.model.token_refusal(client_id, secret, tenant_id)
        if refusal is not None:
            assert response.status_code == 403, response.text
            assert response.json()["error"] == refusal
            return
        assert response.status_code == 200, response.text
        body = response.json()
        c = claims(body["access_token"])
        apps = self.model.allowed_apps(tenant_id, c["application_id"])
        assert body["tenant_id"] == c["tenant_id"] == tenant_id
        assert sorted(body["urls"]["apps"]) == sorted(c["apps"]) == apps
        assert c["iat"] == int(self.now()) and c["exp"] == c["iat"] + TTL
        kid = jwt.get_unverified_header(body["access_token"])["kid"]
        assert kid == self.model.ring.signing
        pair = (tenant_id, c["application_id"])
        epoch = self.model.epochs.get(pair, 0)
        token = Token(
            body["access_token"], *pair, c["sub"], frozenset(apps), epoch, c["iat"], c["exp"], kid
        )
        self.remember(token)

    def remember(self, token: Token) -> None:
        self.model.tokens = [*self.model.tokens[-MAX_TOKENS + 1 :], token]

    def invalidate(self, token: Token, *, among_other_pairs: bool) -> None:
        header = f"accessToken={token.value}"
        if among_other_pairs:
            header = f"refreshToken=abc; {header}, idToken=x"
        response = self.http("DELETE", "/v1/token", headers={"x-tokens": header})
        assert response.status_code == 204, response.text
        token.invalidated = True

    def revoke(self, token: Token, application: Application, secret: str) -> None:
        """RFC 7009: a client revokes its own tokens; another's are left alone."""
        form = {"token": token.value}
        headers = basic(application.client_id, secret)
        response = self.http("POST", "/v1/token/revoke", data=form, headers=headers)
        if secret not in application.secrets.values() or not application.active:
            assert response.status_code == 403, response.text
            assert response.json()["error"] == "invalid_client"
            return
        assert response.status_code == 200, response.text
        if token.client_id == application.client_id:
            token.invalidated = True

    def introspect(self, token: Token) -> None:
        form = {"token": token.value}
        response = self.http("POST", "/v1/token/introspect", data=form, headers=ADMIN)
        assert response.status_code == 200, response.text
        body = response.json()
        refusal = self.model.refusal(token, self.now())
        assert body["active"] is (refusal is None), (refusal, body)
        if refusal is None:
            allowed = self.model.allowed_apps(token.tenant_id, token.application_id)
            assert body["apps"] == sorted(token.apps & set(allowed))
            assert body["tenant_id"] == token.tenant_id
            assert body["application_id"] == token.application_id

    # the gateway

    def check_gateway(self, method: str, token: Token, cluster: str, app: str) -> None:
        response = self.gateway(method, cluster, app, token.value)
        refusal = self.model.refusal(token, self.now())
        if refusal is not None:
            _assert_refused(response, 401, "invalid_token", refusal)
            return
        out_of_reach = self.model.out_of_reach(token, cluster, app)
        if out_of_reach is not None:
            _assert_refused(response, 403, "insufficient_scope", out_of_reach)
            return
        assert response.status_code == 200, response.text
        echoed = response.json()
        headers = dict(echoed["headers"])
        assert echoed["marker"] == f"{token.tenant_id}.{app}"
        assert headers["x-tenant-id"] == token.tenant_id
        assert headers["x-application-id"] == token.application_id

    def expect_no_entry(self, bearer: str) -> None:
        tenant = next(iter(self.model.tenants.values()))
        for app in APPS:
            response = self.gateway("POST", tenant.cluster, app, bearer)
            _assert_refused(response, 401, "invalid_token", "no valid token")

    def gateway(self, method: str, cluster: str, app: str, bearer: str) -> httpx.Response:
        url = f"/v1/fwd/{cluster}/{app}/api"
        headers = {"Authorization": f"Bearer {bearer}"}
        if method == "GET":
            return self.http("GET", url, params=QUERY, headers=headers)
        return self.http("POST", url, json=QUERY, headers=headers)


def _token_request(how: str, client_id: str, secret: str, tenant_id: str) -> dict[str, Any]:
    if how == "json":
        return {"json": {"clientId": client_id, "clientSecret": secret, "tenantId": tenant_id}}
    form = {"grant_type": "client_credentials", "scope": f"tenantid:{tenant_id}"}
    if how == "basic":
        return {"data": form, "headers": basic(client_id, secret)}
    return {"data": {**form, "client_id": client_id, "client_secret": secret}}


def _assert_refused(response: httpx.Response, status: int, error: str, why: str) -> None:
    assert response.status_code == status, f"expected {status} ({why}): {response.text}"
    assert response.headers["www-authenticate"] == f'Bearer error="{error}"'


async def test_no_token_reaches_further_or_lives_longer_than_its_grant(
    settings: Settings, echo_url: str
) -> None:
    clock = ManualClock(float(int(time.time())))
    async with world(settings, clock, echo_url) as started:
        machine = type("TokenLifecycle", (TokenLifecycle,), {"world": started})
        await asyncio.to_thread(run_state_machine_as_test, machine, settings=PROFILE)
