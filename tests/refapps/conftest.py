from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from tenantgate.refapps import JWKSVerifier, create_refapp

JWKS_URL = "https://issuer.test/.well-known/jwks.json"
ISSUER = "https://issuer.test"
AUDIENCE = "tenantgate"
TENANT_A = "Dz62IqY7R8o7W6oj_mreA"
TENANT_B = "Qm1vX0bKc3pT9sLw_eYzu"


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any

    @classmethod
    def ed25519(cls, kid: str) -> SigningKey:
        return cls(kid, "EdDSA", Ed25519PrivateKey.generate())

    @classmethod
    def es256(cls, kid: str) -> SigningKey:
        return cls(kid, "ES256", generate_private_key(SECP256R1()))

    def public_jwk(self) -> dict[str, Any]:
        algorithm = OKPAlgorithm if self.algorithm == "EdDSA" else ECAlgorithm
        jwk = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}


@dataclass
class Issuer:
    """Mints access tokens as tenantgate does and serves the JWKS the apps fetch."""

    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey.ed25519("key-1")])
    fetches: int = 0

    def jwks(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == JWKS_URL
        self.fetches += 1
        return httpx.Response(200, json={"keys": [key.public_jwk() for key in self.keys]})

    def token(
        self,
        tenant_id: str = TENANT_A,
        apps: list[str] | None = None,
        key: SigningKey | None = None,
        **overrides: Any,
    ) -> str:
        key = key or self.keys[0]
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": "client-123",
            "client_id": "client-123",
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 900,
            "jti": uuid.uuid4().hex,
            "scope": f"tenantid:{tenant_id}",
            "tenant_id": tenant_id,
            "application_id": "123456",
            "apps": ["sdmo", "shopfloor"] if apps is None else apps,
            "gen": 1,
        }
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        headers = {"typ": "at+jwt", "kid": key.kid}
        return jwt.encode(claims, key.private, algorithm=key.algorithm, headers=headers)


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
async def verifier(issuer: Issuer) -> AsyncIterator[JWKSVerifier]:
    transport = httpx.MockTransport(issuer.jwks)
    verifier = JWKSVerifier(JWKS_URL, audience=AUDIENCE, issuer=ISSUER, transport=transport)
    yield verifier
    await verifier.aclose()


def _client(app_name: str, verifier: JWKSVerifier) -> httpx.AsyncClient:
    app = create_refapp(app_name, verifier)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://refapp")


@pytest.fixture
async def sdmo(verifier: JWKSVerifier) -> AsyncIterator[httpx.AsyncClient]:
    async with _client("sdmo", verifier) as client:
        yield client


@pytest.fixture
async def shopfloor(verifier: JWKSVerifier) -> AsyncIterator[httpx.AsyncClient]:
    async with _client("shopfloor", verifier) as client:
        yield client


def auth_headers(token: str, tenant_id: str = TENANT_A) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "x-tenant-id": tenant_id}


Query = Callable[..., Any]


@pytest.fixture
def gql(issuer: Issuer) -> Query:
    """POST a GraphQL operation as the gateway would for ``tenant_id``; return the JSON."""

    async def run(
        client: httpx.AsyncClient,
        query: str,
        variables: dict[str, Any] | None = None,
        tenant_id: str = TENANT_A,
    ) -> dict[str, Any]:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=auth_headers(issuer.token(tenant_id), tenant_id),
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return run


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]
