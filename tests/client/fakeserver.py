"""A stand-in for tenantgate's Token API and gateway that counts what it is asked.

It follows CONTRACT.md closely enough for the SDK's tests; ``script`` queues answers that a
real server gives only in rare states (rate limiting, upstream faults).
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CLIENT_ID = "3f9c1a7e-client"
CLIENT_SECRET = "s3cret-value-for-tests"
TENANT_ID = "Dz62IqY7R8o7W6oj_mreA"
STRANGER_TENANT = "Qa11BbCc22DdEe33FfGg4"
APPS = ("sdmo", "shopfloor")
CLUSTER = "cluster-test"


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        if self.body is None:
            return Response(status_code=self.status, headers=self.headers)
        return JSONResponse(self.body, self.status, headers=self.headers)


@dataclass(repr=False)
class FakeState:
    clock: Callable[[], float] = time.time
    lifetime: int = 900
    token_delay: float = 0.0
    refuse_all_tokens: bool = False
    token_requests: int = 0
    token_forms: list[dict[str, str]] = field(default_factory=list)
    token_script: deque[Answer] = field(default_factory=deque)
    gateway_script: deque[Answer] = field(default_factory=deque)
    gateway_requests: list[dict[str, Any]] = field(default_factory=list)
    invalidations: list[str] = field(default_factory=list)
    issued: dict[str, float] = field(default_factory=dict)

    def revoke_all(self) -> None:
        self.issued.clear()


@dataclass
class FakeServer:
    """The fake's address and its current state; each test starts from a fresh state."""

    url: str = "http://testserver"
    state: FakeState = field(default_factory=FakeState)

    @property
    def token_url(self) -> str:
        return f"{self.url}/v1/token"

    def app(self) -> Starlette:
        return create_app(lambda: self.state)


def create_app(current: Callable[[], FakeState]) -> Starlette:
    async def token(request: Request) -> Response:
        state = current()
        state.token_requests += 1
        form = {key: str(value) for key, value in (await request.form()).items()}
        state.token_forms.append(form)
        await asyncio.sleep(state.token_delay)
        if state.token_script:
            return state.token_script.popleft().response()
        return _issue(state, request, form)

    async def invalidate(request: Request) -> Response:
        state = current()
        header = request.headers.get("x-tokens", "")
        state.invalidations.append(header)
        pairs = dict(
            part.strip().partition("=")[::2] for part in header.replace(",", ";").split(";")
        )
        if not pairs.get("accessToken"):
            return _oauth_error(400, "invalid_request", "x-tokens has no accessToken")
        state.issued.pop(pairs["accessToken"], None)
        return Response(status_code=204)

    async def gateway(request: Request) -> Response:
        state = current()
        request_id = f"req-{len(state.gateway_requests) + 1}"
        body = await request.json()
        authorization = request.headers.get("authorization", "")
        state.gateway_requests.append({"authorization": authorization, "body": body})
        answer = _gateway_answer(state, request, authorization, body)
        answer.headers["X-Request-Id"] = request_id
        return answer.response()

    return Starlette(
        routes=[
            Route("/v1/token", token, methods=["POST"]),
            Route("/v1/token", invalidate, methods=["DELETE"]),
            Route("/v1/fwd/{cluster}/{app}/api", gateway, methods=["POST"]),
        ]
    )


def _issue(state: FakeState, request: Request, form: dict[str, str]) -> Response:
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials")
    if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
        return _oauth_error(403, "invalid_client", "the client credentials were not accepted")
    if form.get("scope") != f"tenantid:{TENANT_ID}":
        return _oauth_error(403, "access_denied", "no access to this tenant")
    access_token = secrets.token_urlsafe(24)
    expires = state.clock() + state.lifetime
    state.issued[access_token] = expires
    return JSONResponse(
        _token_body(state, request, access_token, expires), headers={"Cache-Control": "no-store"}
    )


def _token_body(
    state: FakeState, request: Request, access_token: str, expires: float
) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": state.lifetime,
        "expires_at": datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z"),
        "scope": f"tenantid:{TENANT_ID}",
        "tenant_id": TENANT_ID,
        "urls": {
            "invalidateToken": f"{base}/v1/token",
            "websocket": base.replace("http", "ws", 1) + "/v1/ws",
            "apps": {app: {"graphQL": f"{base}/v1/fwd/{CLUSTER}/{app}/api"} for app in APPS},
        },
    }


def _gateway_answer(
    state: FakeState, request: Request, authorization: str, body: dict[str, Any]
) -> Answer:
    scheme, _, access_token = authorization.partition(" ")
    expires = state.issued.get(access_token)
    valid = scheme == "Bearer" and expires is not None and state.clock() < expires
    if state.refuse_all_tokens or not valid:
        return Answer(
            401, {"error": "invalid_token"}, {"WWW-Authenticate": _bearer("invalid_token")}
        )
    if state.gateway_script:
        return state.gateway_script.popleft()
    echo = {
        "app": request.path_params["app"],
        "tenant": TENANT_ID,
        "query": body.get("query"),
        "variables": body.get("variables"),
        "operationName": body.get("operationName"),
    }
    return Answer(200, {"data": {"echo": echo}})


def _bearer(error: str) -> str:
    return f'Bearer error="{error}"'


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status)


@contextmanager
def serve(server: FakeServer) -> Iterator[FakeServer]:
    """Run the fake on 127.0.0.1 at a free port, in a background thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        server.app(), lifespan="off", ws="none", http="h11", access_log=False, log_level="warning"
    )
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not uvicorn_server.started:
        time.sleep(0.01)
    server.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        yield server
    finally:
        uvicorn_server.should_exit = True
        thread.join()
        sock.close()


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (for network-down tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
