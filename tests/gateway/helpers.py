"""Small steps most gateway tests take: an accepted application whose apps point at the echo
upstream, a token, and the gateway URL the token response hands out."""

from __future__ import annotations

from typing import Any

import httpx

from tests import factories as f

QUERY = {"query": "{ items { id } }", "variables": {"first": 2}, "operationName": None}


def echo_apps(echo_url: str, marker: str = "a") -> dict[str, str]:
    return {"sdmo": f"{echo_url}/echo/{marker}-sdmo", "shopfloor": f"{echo_url}/echo/{marker}-sf"}


async def token_for(
    client: httpx.AsyncClient, apps: dict[str, str], allowed: list[str] | None = None
) -> tuple[f.Setup, dict[str, Any]]:
    setup = await f.accepted_setup(client, apps, allowed)
    return setup, await f.get_token(client, setup)


def bearer(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


def gateway_url(token: dict[str, Any], app: str = "sdmo") -> str:
    url: str = token["urls"]["apps"][app]["graphQL"]
    return url


def graphql_error_code(response: httpx.Response) -> str:
    body = response.json()
    code: str = body["errors"][0]["extensions"]["code"]
    assert body["errors"][0]["message"]
    return code


def echoed_headers(response: httpx.Response) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for name, value in response.json()["headers"]:
        seen.setdefault(name, []).append(value)
    return seen
