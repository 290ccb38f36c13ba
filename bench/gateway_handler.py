"""What the gateway's own handler costs per request, in this process and without a network: the
ASGI callable behind /v1/fwd driven in a loop with a fixed 70-byte POST body and an upstream
that answers at once. Cases, each an API user of one tenant on temp SQLite:

- plain: no roles, no limits (nothing is parsed; the baseline);
- role: a read-only role covering the query's root field (the operation is checked);
- rate: a rate limit and a daily quota it never reaches, counted in memory;
- role + rate: both, as case (e) of bench/gateway.py.

    python bench/gateway_handler.py --requests 20000 --rounds 7

Prints, for each case, the best of the rounds in microseconds per request and what it adds to
plain. Rounds alternate between the cases, so a noisy machine slows them alike; the figures
leave out uvicorn and the sockets, which bench/gateway.py measures."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from typing import Any

import httpx

from tenantgate.app import create_app
from tenantgate.gateway.endpoint import Gateway
from tenantgate.gateway.headers import RawHeaders
from tenantgate.gateway.upstream import Target
from tenantgate.services import Services
from tenantgate.settings import Settings

ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"
BODY = b'{"query":"{ items { id name } }"}'
ANSWER = b'{"data":{"items":[{"id":"1","name":"Bench item"}]}}'.ljust(70)
ROLE = {"grants": [{"app": "sdmo", "operations": ["query"], "fields": ["items"]}]}
RATE = {
    "rate_limit": {"requests_per_minute": 1_000_000, "burst": 1_000_000},
    "daily_quota": 1_000_000_000,
}
CASES: dict[str, dict[str, Any]] = {
    "plain": {},
    "role": {"roles": ["bench-reader"]},
    "rate": RATE,
    "role + rate": {"roles": ["bench-reader"], **RATE},
}


class _Answer:
    status = 200

    def __init__(self) -> None:
        self.headers: RawHeaders = [
            (b"content-type", b"application/json"),
            (b"content-length", b"70"),
        ]

    async def read(self) -> bytes:
        return ANSWER

    async def chunks(self) -> Any:  # never called: the answer is sized
        raise NotImplementedError

    async def aclose(self) -> None:
        pass


class _Upstream:
    """Answers every request at once, without a socket."""

    async def send(
        self, method: bytes, target: Target, path: bytes, headers: RawHeaders, body: bytes
    ) -> _Answer:
        return _Answer()

    async def aclose(self) -> None:
        pass


async def _tokens(services: Services) -> tuple[dict[str, str], str]:
    """An access token per case, and the gateway path of the tenant's sdmo app."""
    transport = httpx.ASGITransport(app=create_app(services.settings, services))
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        body = {"name": "Bench tenant", "region": "eu", "cluster": "cluster-bench"}
        tenant = (await http.post("/admin/v1/tenants", json=body, headers=admin)).json()
        base = f"/admin/v1/tenants/{tenant['tenant_id']}"
        app = {"graphql_url": "http://127.0.0.1:9/graphql"}
        (await http.put(f"{base}/apps/sdmo", json=app, headers=admin)).raise_for_status()
        (await http.put(f"{base}/roles/bench-reader", json=ROLE, headers=admin)).raise_for_status()
        tokens, path = {}, ""
        for case, options in CASES.items():
            created = await http.post("/admin/v1/applications", json={"name": case}, headers=admin)
            application = created.raise_for_status().json()
            user = {"first_name": "Bench", "last_name": case, **options}
            url = f"{base}/api-users/{application['application_id']}"
            (await http.put(url, json=user, headers=admin)).raise_for_status()
            form = {
                "grant_type": "client_credentials",
                "client_id": application["client_id"],
                "client_secret": application["client_secret"],
                "scope": f"tenantid:{tenant['tenant_id']}",
            }
            issued = (await http.post("/v1/token", data=form)).raise_for_status().json()
            tokens[case] = issued["access_token"]
            path = httpx.URL(issued["urls"]["apps"]["sdmo"]["graphQL"]).path
    return tokens, path


async def _per_request(gateway: Gateway, token: str, path: str, requests: int) -> float:
    """Microseconds per request of ``requests`` sent one after another."""
    _, _, _, cluster, app, _ = path.split("/")
    headers = [
        (b"host", b"bench"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ]
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.perf_counter()
    for sent in range(requests):
        if sent % 100 == 0:  # the node's own tasks (the change feed) run between requests
            await asyncio.sleep(0)
        scope = {
            "type": "http",
            "method": "POST",
            "path": path,
            "query_string": b"",
            "path_params": {"cluster": cluster, "app": app},
            "headers": list(headers),
        }
        await gateway(scope, receive, send)
    elapsed = time.perf_counter() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"answers other than 200: {sorted(set(statuses))}")
    return elapsed / requests * 1e6


async def run(requests: int, rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp}/bench.db",
            data_dir=tmp,
            secret_key="bench-server-secret",
            admin_token=ADMIN_TOKEN,
            refapps=False,
            log_level="warning",
        )
        services = Services.build(settings)
        await services.open()
        try:
            tokens, path = await _tokens(services)
            gateway = Gateway(services, _Upstream())
            for token in tokens.values():  # warm the caches
                await _per_request(gateway, token, path, 1_000)
            best = dict.fromkeys(tokens, float("inf"))
            for _ in range(rounds):
                for case, token in tokens.items():
                    took = await _per_request(gateway, token, path, requests)
                    best[case] = min(best[case], took)
            return best
        finally:
            await services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    best = asyncio.run(run(args.requests, args.rounds))
    plain = best["plain"]
    print("| case | µs per request (best round) | added to plain |")
    print("| --- | ---: | ---: |")
    for case, took in best.items():
        print(f"| {case} | {took:.1f} | {took - plain:+.1f} |")


if __name__ == "__main__":
    main()
