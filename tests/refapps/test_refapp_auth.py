from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest

from tenantgate.refapps import InvalidToken, JWKSVerifier, KeySetUnavailable, create_refapp

from .conftest import (
    AUDIENCE,
    JWKS_URL,
    TENANT_A,
    TENANT_B,
    Issuer,
    SigningKey,
    auth_headers,
)

ITEMS = "{ items(first: 1) { totalCount } }"


async def post(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/graphql", json={"query": ITEMS}, headers=headers)


def assert_refused(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == code
    assert "data" not in response.json()
    return str(error["message"])


async def test_a_valid_token_for_the_tenant_and_app_is_served(
    sdmo: httpx.AsyncClient, issuer: Issuer
) -> None:
    response = await post(sdmo, auth_headers(issuer.token()))

    assert response.status_code == 200
    assert response.json()["data"]["items"]["totalCount"] >= 30


async def test_a_request_without_a_token_is_unauthenticated(sdmo: httpx.AsyncClient) -> None:
    response = await post(sdmo, {"x-tenant-id": TENANT_A})

    assert_refused(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_non_bearer_authorization_is_unauthenticated(
    sdmo: httpx.AsyncClient, issuer: Issuer
) -> None:
    headers = {"authorization": f"Basic {issuer.token()}", "x-tenant-id": TENANT_A}

    assert_refused(await post(sdmo, headers), 401, "UNAUTHENTICATED")


async def test_an_expired_token_is_unauthenticated(sdmo: httpx.AsyncClient, issuer: Issuer) -> None:
    now = int(time.time())
    token = issuer.token(iat=now - 1000, exp=now - 100)

    message = assert_refused(await post(sdmo, auth_headers(token)), 401, "UNAUTHENTICATED")
    assert "expired" in message


async def test_a_token_signed_by_another_key_with_a_known_kid_is_unauthenticated(
    sdmo: httpx.AsyncClient, issuer: Issuer
) -> None:
    forger = SigningKey.ed25519(issuer.keys[0].kid)
    token = issuer.token(key=forger)

    message = assert_refused(await post(sdmo, auth_headers(token)), 401, "UNAUTHENTICATED")
    assert "signature" in message


async def test_a_tampered_token_is_unauthenticated(sdmo: httpx.AsyncClient, issuer: Issuer) -> None:
    header, _, signature_for_b = issuer.token(tenant_id=TENANT_B).split(".")
    _, payload_for_a, _ = issuer.token().split(".")
    tampered = f"{header}.{payload_for_a}.{signature_for_b}"

    assert_refused(await post(sdmo, auth_headers(tampered)), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "another-api"}, "audience"),
        ({"aud": None}, "aud"),
        ({"iss": "https://evil.test"}, "issuer"),
        ({"exp": None}, "exp"),
    ],
)
async def test_a_token_with_wrong_or_missing_claims_is_unauthenticated(
    sdmo: httpx.AsyncClient, issuer: Issuer, claims: dict[str, Any], reason: str
) -> None:
    token = issuer.token(**claims)

    message = assert_refused(await post(sdmo, auth_headers(token)), 401, "UNAUTHENTICATED")
    assert reason in message


async def test_a_jwt_that_is_not_an_access_token_is_unauthenticated(
    sdmo: httpx.AsyncClient, issuer: Issuer
) -> None:
    key = issuer.keys[0]
    claims = jwt.decode(issuer.token(), options={"verify_signature": False})
    id_token = jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid})

    message = assert_refused(await post(sdmo, auth_headers(id_token)), 401, "UNAUTHENTICATED")
    assert "at+jwt" in message


async def test_a_symmetric_token_is_unauthenticated(
    sdmo: httpx.AsyncClient, issuer: Issuer
) -> None:
    claims = jwt.decode(issuer.token(), options={"verify_signature": False})
    headers = {"typ": "at+jwt", "kid": issuer.keys[0].kid}
    token = jwt.encode(claims, "a-guessed-secret-of-32-bytes-long!", "HS256", headers=headers)

    assert_refused(await post(sdmo, auth_headers(token)), 401, "UNAUTHENTICATED")


async def test_garbage_is_unauthenticated(sdmo: httpx.AsyncClient) -> None:
    assert_refused(await post(sdmo, auth_headers("not-a-jwt")), 401, "UNAUTHENTICATED")


async def test_a_request_without_the_gateway_tenant_header_is_unauthenticated(
    sdmo: httpx.AsyncClient, issuer: Issuer
) -> None:
    headers = {"authorization": f"Bearer {issuer.token()}"}

    assert_refused(await post(sdmo, headers), 401, "UNAUTHENTICATED")


async def test_a_token_for_another_tenant_is_forbidden(
    sdmo: httpx.AsyncClient, issuer: Issuer
) -> None:
    token = issuer.token(tenant_id=TENANT_A)

    response = await post(sdmo, auth_headers(token, tenant_id=TENANT_B))

    assert_refused(response, 403, "FORBIDDEN")
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_a_token_without_the_app_is_forbidden(
    sdmo: httpx.AsyncClient, shopfloor: httpx.AsyncClient, issuer: Issuer
) -> None:
    token = issuer.token(apps=["shopfloor"])

    assert_refused(await post(sdmo, auth_headers(token)), 403, "FORBIDDEN")
    shopfloor_query = {"query": "{ workOrders(first: 1) { totalCount } }"}
    response = await shopfloor.post("/graphql", json=shopfloor_query, headers=auth_headers(token))
    assert response.status_code == 200


async def test_a_token_without_an_apps_claim_is_forbidden(
    sdmo: httpx.AsyncClient, issuer: Issuer
) -> None:
    token = issuer.token(apps=None)
    claims = jwt.decode(token, options={"verify_signature": False})
    del claims["apps"]
    key = issuer.keys[0]
    token = jwt.encode(claims, key.private, "EdDSA", headers={"typ": "at+jwt", "kid": key.kid})

    assert_refused(await post(sdmo, auth_headers(token)), 403, "FORBIDDEN")


async def test_an_es256_key_in_the_jwks_is_accepted(
    sdmo: httpx.AsyncClient, issuer: Issuer
) -> None:
    ec_key = SigningKey.es256("ec-1")
    issuer.keys.append(ec_key)

    response = await post(sdmo, auth_headers(issuer.token(key=ec_key)))

    assert response.status_code == 200


async def test_the_key_set_is_fetched_once_and_cached(
    sdmo: httpx.AsyncClient, issuer: Issuer
) -> None:
    for _ in range(3):
        assert (await post(sdmo, auth_headers(issuer.token()))).status_code == 200

    assert issuer.fetches == 1


async def test_a_rotated_key_is_picked_up_with_one_refetch(
    sdmo: httpx.AsyncClient, issuer: Issuer
) -> None:
    assert (await post(sdmo, auth_headers(issuer.token()))).status_code == 200
    new_key = SigningKey.ed25519("key-2")
    issuer.keys.insert(0, new_key)

    first = await post(sdmo, auth_headers(issuer.token(key=new_key)))
    second = await post(sdmo, auth_headers(issuer.token(key=new_key)))

    assert (first.status_code, second.status_code) == (200, 200)
    assert issuer.fetches == 2


async def test_unknown_kids_refetch_at_most_once_per_interval(issuer: Issuer) -> None:
    clock = FakeClock()
    verifier = JWKSVerifier(
        JWKS_URL,
        audience=AUDIENCE,
        transport=httpx.MockTransport(issuer.jwks),
        refetch_interval=10,
        clock=clock,
    )
    stranger = SigningKey.ed25519("nobody-knows-me")
    token = issuer.token(key=stranger, iat=int(clock()), exp=int(clock()) + 900)

    for _ in range(3):
        with pytest.raises(InvalidToken, match="unknown key"):
            await verifier.verify(token)
    assert issuer.fetches == 2

    clock.now += 11
    with pytest.raises(InvalidToken):
        await verifier.verify(token)
    assert issuer.fetches == 3
    await verifier.aclose()


async def test_a_failed_fetch_is_retried_only_after_the_interval(issuer: Issuer) -> None:
    clock = FakeClock()
    outage = True

    def flaky(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503) if outage else issuer.jwks(request)

    verifier = JWKSVerifier(
        JWKS_URL, transport=httpx.MockTransport(flaky), refetch_interval=10, clock=clock
    )
    token = issuer.token(iss=None)
    with pytest.raises(KeySetUnavailable):
        await verifier.verify(token)
    outage = False
    with pytest.raises(KeySetUnavailable):
        await verifier.verify(token)

    clock.now += 10
    assert (await verifier.verify(token))["tenant_id"] == TENANT_A
    await verifier.aclose()


async def test_the_verifier_returns_the_claims(verifier: JWKSVerifier, issuer: Issuer) -> None:
    claims = await verifier.verify(issuer.token(tenant_id=TENANT_B, apps=["sdmo"]))

    assert claims["tenant_id"] == TENANT_B
    assert claims["apps"] == ["sdmo"]
    assert claims["scope"] == f"tenantid:{TENANT_B}"


async def test_an_unreachable_key_set_is_a_503_not_a_401(issuer: Issuer) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    verifier = JWKSVerifier(JWKS_URL, transport=httpx.MockTransport(refuse))
    with pytest.raises(KeySetUnavailable):
        await verifier.verify(issuer.token())
    app = create_refapp("sdmo", verifier)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c:
        response = await post(c, auth_headers(issuer.token()))
    assert_refused(response, 503, "SERVICE_UNAVAILABLE")
    await verifier.aclose()


async def test_an_injected_verifier_replaces_the_jwks_one() -> None:
    class InMemoryVerifier:
        async def verify(self, token: str) -> dict[str, Any]:
            if token != "let-me-in":
                raise InvalidToken("unknown token")
            return {"tenant_id": TENANT_A, "apps": ["sdmo"]}

    app = create_refapp("sdmo", InMemoryVerifier())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c:
        accepted = await post(c, auth_headers("let-me-in"))
        refused = await post(c, auth_headers("guess"))

    assert accepted.status_code == 200
    assert_refused(refused, 401, "UNAUTHENTICATED")


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_a_deeply_nested_body_is_a_400_not_a_500(
    sdmo: httpx.AsyncClient, issuer: Issuer
) -> None:
    body = b'{"query": "{ __typename }", "variables": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    headers = {**auth_headers(issuer.token()), "content-type": "application/json"}

    response = await sdmo.post("/graphql", content=body, headers=headers)

    assert "deeper" in assert_refused(response, 400, "BAD_REQUEST")
