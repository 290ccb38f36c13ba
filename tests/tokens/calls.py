"""The Token API calls that many stories make, spelled once."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import jwt

from tests.factories import ADMIN


def basic(client_id: str, client_secret: str, *, encode_all: bool = False) -> dict[str, str]:
    """``Authorization: Basic``; with ``encode_all`` every byte of id and secret is
    percent-encoded first, as RFC 6749 §2.3.1 allows."""
    if encode_all:
        client_id, client_secret = _percent_all(client_id), _percent_all(client_secret)
    raw = f"{client_id}:{client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def _percent_all(value: str) -> str:
    return "".join(f"%{byte:02X}" for byte in value.encode())


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


async def introspect(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.post("/v1/token/introspect", data={"token": token}, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def is_active(client: httpx.AsyncClient, token: str) -> bool:
    return bool((await introspect(client, token))["active"])


async def invalidate(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.delete("/v1/token", headers={"x-tokens": f"accessToken={token}"})


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error, body
    assert isinstance(body["error_description"], str) and body["error_description"]
