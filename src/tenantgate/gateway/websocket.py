"""``/v1/ws``: GraphQL subscriptions to the apps of a token's tenant over graphql-transport-ws.

A caller's connection is authenticated once, at ``connection_init`` (token from the upgrade's
``Authorization`` header or from the payload, see ``ws_rules.socket_token``), then watched: the
token is verified again from memory every ``check_interval`` seconds and at its expiry, and
the connection is closed with 4401 when it expires or is invalidated, 4403 when access is
withdrawn. Each ``subscribe`` names its app (``extensions.app``, else the URL's ``?app=``) and
goes, under the HTTP gateway's rules, to that app's upstream over one ``UpstreamLink`` per app.
For an API user with roles, a subscription runs only while its roles allow it: checked at
``subscribe``, before each event is relayed and at each watch, so that a role taken away ends
the subscription (an ``error`` with code ``FORBIDDEN``) before its next event.

The endpoint is plain ASGI: the messages it sends and reads are few and simple, and it needs
to send from several tasks (the caller's reader, the watch, one relay per upstream)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import parse_qs

import orjson
import structlog
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.types import Receive, Scope, Send

from tenantgate.clock import Clock
from tenantgate.gateway.document import Operation
from tenantgate.gateway.errors import Forbidden, GatewayError
from tenantgate.gateway.headers import read_request_headers
from tenantgate.gateway.policy import Policy, default_limits
from tenantgate.gateway.request import from_payload
from tenantgate.gateway.ws_link import PROTOCOL, Overloaded, UpstreamLink
from tenantgate.gateway.ws_rules import (
    BAD_REQUEST,
    INIT_TIMEOUT,
    INTERNAL_ERROR,
    MESSAGE_TOO_BIG,
    SUBPROTOCOL_NOT_ACCEPTABLE,
    SUBSCRIBER_EXISTS,
    TOO_MANY_INITS,
    TRY_AGAIN_LATER,
    UNAUTHORIZED,
    Close,
    SocketAccess,
    route_for,
    socket_token,
    subscription_app,
    websocket_url,
)
from tenantgate.services import Services
from tenantgate.tokens.errors import InsufficientScope
from tenantgate.tokens.verifier import AccessClaims, TokenVerifier

log = structlog.get_logger(__name__)

PATH = "/v1/ws"
CHECK_INTERVAL = 1.0
CONNECTION_INIT_TIMEOUT = 10.0
MAX_SUBSCRIPTIONS = 100
MAX_ID_LENGTH = 128
OVERLOADED = 1013
_ACK = orjson.dumps({"type": "connection_ack"}).decode()
_PONG = orjson.dumps({"type": "pong"}).decode()


class _Finished(Exception):
    """The connection is over (closed by the gateway, or gone): stop every task of it."""


@dataclass(slots=True)
class _Op:
    """A caller's subscription: the link it runs on, and what its roles are checked against."""

    link: UpstreamLink
    payload: dict[str, Any]
    operation: Operation | None


def websocket_routes(services: Services) -> list[BaseRoute]:
    return [WebSocketRoute(PATH, GraphQLSocket(services))]


class GraphQLSocket:
    def __init__(
        self,
        services: Services,
        *,
        check_interval: float = CHECK_INTERVAL,
        init_timeout: float = CONNECTION_INIT_TIMEOUT,
    ) -> None:
        settings = services.settings
        self.verifier: TokenVerifier = services.verifier
        self.state = services.state
        self.policy = Policy(
            services.state,
            defaults=default_limits(settings),
            cache_size=settings.query_cache_size,
        )
        self.clock: Clock = services.clock
        self.metrics = services.metrics
        self.proof = services.gateway_proof
        self.token_bytes = services.randomness.token_bytes
        self.check_interval = check_interval
        self.init_timeout = init_timeout
        self.upstream_timeout = settings.upstream_timeout
        self.max_message = settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await Session(self, scope, receive, send).run()


class Session:
    """One caller's connection, from the upgrade to the close."""

    def __init__(self, endpoint: GraphQLSocket, scope: Scope, receive: Receive, send: Send) -> None:
        self._endpoint = endpoint
        self._scope = scope
        self._receive = receive
        self._send = send
        self._default_app = _query_app(scope.get("query_string", b""))
        self._request_id = endpoint.token_bytes(16).hex()
        self._access: SocketAccess | None = None
        self._links: dict[str, UpstreamLink] = {}
        self._ops: dict[str, _Op] = {}
        self._user: tuple[str, str] | None = None
        self._tasks: asyncio.TaskGroup | None = None
        self._closed = False

    async def run(self) -> None:
        if (await self._receive())["type"] != "websocket.connect":
            return
        if PROTOCOL not in self._scope.get("subprotocols", ()):
            await self._send({"type": "websocket.accept"})
            await self._close(Close(SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable"))
            return
        await self._send({"type": "websocket.accept", "subprotocol": PROTOCOL})
        try:
            async with asyncio.TaskGroup() as tasks:
                self._tasks = tasks
                self._spawn(self._read())
                self._spawn(self._expect_init())
        except* _Finished:
            pass
        except* Exception as group:
            log.error("ws_failed", request_id=self._request_id, exc_info=group.exceptions[0])
            await self._close(Close(INTERNAL_ERROR, "Internal error"))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        assert self._tasks is not None
        self._tasks.create_task(self._closing_on_refusal(work))

    async def _closing_on_refusal(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Close as close:
            await self._close(close)
            raise _Finished from None

    async def _close(self, close: Close) -> None:
        if self._closed:
            return
        self._closed = True
        if close.code == TRY_AGAIN_LATER:
            self._endpoint.metrics.stale_refusals("websocket")
        log.info("ws_closed", code=close.code, reason=close.detail, request_id=self._request_id)
        message = {"type": "websocket.close", "code": close.code, "reason": close.reason}
        with contextlib.suppress(OSError, RuntimeError):
            await self._send(message)

    async def _send_text(self, text: str) -> None:
        if self._closed:
            raise _Finished
        try:
            await self._send({"type": "websocket.send", "text": text})
        except OSError:
            self._closed = True
            raise _Finished from None

    async def _expect_init(self) -> None:
        await asyncio.sleep(self._endpoint.init_timeout)
        if self._access is None:
            raise Close(INIT_TIMEOUT, "Connection initialisation timeout")

    async def _read(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "websocket.disconnect":
                self._closed = True
                raise _Finished
            text = message.get("text")
            if text is None:
                raise Close(BAD_REQUEST, "WebSocket message type must be text")
            limit = self._endpoint.max_message
            if len(text) > limit or len(text.encode()) > limit:
                raise Close(MESSAGE_TOO_BIG, "Message too big")
            await self._handle(_parse(text), text)

    async def _handle(self, message: dict[str, Any], text: str) -> None:
        kind = message["type"]
        if kind == "connection_init":
            await self._connection_init(message)
        elif kind == "subscribe":
            await self._subscribe(message, text)
        elif kind == "complete":
            self._complete(message, text)
        elif kind == "ping":
            await self._send_text(_PONG)
        elif kind != "pong":
            raise Close(BAD_REQUEST, "Unknown message type")

    async def _connection_init(self, message: dict[str, Any]) -> None:
        if self._access is not None:
            raise Close(TOO_MANY_INITS, "Too many initialisation requests")
        payload = message.get("payload")
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise Close(BAD_REQUEST, "Invalid connection init payload")
        upgrade = read_request_headers(self._scope["headers"])
        endpoint = self._endpoint
        access = SocketAccess(endpoint.verifier, socket_token(upgrade, payload), endpoint.clock)
        claims = access.verify(live=False).claims
        self._access = access
        self._user = (claims.tenant_id, claims.application_id)
        log.info(
            "ws_opened",
            tenant_id=claims.tenant_id,
            application_id=claims.application_id,
            request_id=self._request_id,
        )
        await self._send_text(_ACK)
        self._spawn(self._watch(access))

    async def _watch(self, access: SocketAccess) -> None:
        interval = self._endpoint.check_interval
        while True:
            checked = access.check({op.link.app for op in self._ops.values()})
            for op_id in list(self._ops):
                await self._enforce_roles(op_id)
            await asyncio.sleep(access.seconds_to_next_check(checked, interval))

    async def _subscribe(self, message: dict[str, Any], text: str) -> None:
        if self._access is None:
            raise Close(UNAUTHORIZED, "Unauthorized")
        op_id, payload = message.get("id"), message.get("payload")
        if not isinstance(op_id, str) or not 0 < len(op_id) <= MAX_ID_LENGTH:
            raise Close(BAD_REQUEST, "Invalid subscribe message: id")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise Close(BAD_REQUEST, "Invalid subscribe message: payload")
        if op_id in self._ops:
            raise Close(SUBSCRIBER_EXISTS, f"Subscriber for {op_id} already exists")
        if len(self._ops) >= MAX_SUBSCRIPTIONS:
            await self._error(op_id, "Subscription limit reached", "TOO_MANY_SUBSCRIPTIONS")
            return
        app = subscription_app(payload, self._default_app)
        if app is None:
            await self._error(op_id, "Name the app: extensions.app, or ?app= on the URL.")
            return
        access = self._access.verify()
        try:
            route = route_for(access, app)
            read = partial(from_payload, payload)
            operation = self._endpoint.policy.check(access, app, route, read)
        except InsufficientScope as exc:
            log.info("ws_refused", reason=exc.reason, app=app, request_id=self._request_id)
            await self._error(op_id, Forbidden.message, Forbidden.code)
            return
        except GatewayError as error:
            log.info("ws_refused", reason=error.reason, app=app, request_id=self._request_id)
            await self._error_of(op_id, error)
            return
        link = self._links.get(app) or self._open(app, websocket_url(route), access.claims)
        self._ops[op_id] = _Op(link, payload, operation)
        link.ops.add(op_id)
        self._queue(link, text)

    def _complete(self, message: dict[str, Any], text: str) -> None:
        op_id = message.get("id")
        op = self._ops.pop(op_id, None) if isinstance(op_id, str) else None
        if op is not None:
            op.link.ops.discard(message["id"])
            self._queue(op.link, text)

    def _refusal(self, op: _Op) -> GatewayError | None:
        """Why the API user's roles, as memory holds them now, refuse the subscription."""
        assert self._user is not None
        user = self._endpoint.state.api_users.get(self._user)
        if user is None or user.roles is None:
            return None  # no API user: the watch closes the connection (4403)
        policy = self._endpoint.policy
        if op.operation is None:  # it was not checked when it began: it had no roles then
            try:
                op.operation = policy.operation(from_payload(op.payload))
            except GatewayError as error:
                return error
        return policy.refused(user, op.link.app, op.operation)

    async def _enforce_roles(self, op_id: str) -> bool:
        """Ends the subscription if the roles now refuse it; whether they did."""
        op = self._ops.get(op_id)
        refusal = None if op is None else self._refusal(op)
        if op is None or refusal is None:
            return False
        del self._ops[op_id]
        op.link.ops.discard(op_id)
        self._queue(op.link, orjson.dumps({"id": op_id, "type": "complete"}).decode())
        log.info("ws_cut", reason=refusal.reason, app=op.link.app, request_id=self._request_id)
        await self._error_of(op_id, refusal)
        return True

    def _queue(self, link: UpstreamLink, text: str) -> None:
        try:
            link.send(text)
        except Overloaded:
            raise Close(OVERLOADED, "Upstream busy: try again later") from None

    def _open(self, app: str, url: str, claims: AccessClaims) -> UpstreamLink:
        assert self._access is not None
        init = {
            "Authorization": f"Bearer {self._access.token}",
            "X-Tenant-Id": claims.tenant_id,
            "X-Application-Id": claims.application_id,
            "X-Client-Id": claims.client_id,
            "X-Request-Id": self._request_id,
            "X-Tenantgate-Gateway": self._endpoint.proof.sign(claims.tenant_id, app, claims.jti),
        }
        endpoint = self._endpoint
        link = UpstreamLink(
            app,
            url,
            init,
            self._from_upstream,
            timeout=endpoint.upstream_timeout,
            max_size=endpoint.max_message,
            outbox=2 * MAX_SUBSCRIPTIONS,
        )
        self._links[app] = link
        self._spawn(self._run_link(link))
        return link

    async def _run_link(self, link: UpstreamLink) -> None:
        fault, detail = await link.run()
        if self._links.get(link.app) is link:
            del self._links[link.app]
        if link.ops:
            log.warning(
                "ws_upstream_lost", app=link.app, reason=detail, request_id=self._request_id
            )
        for op_id in sorted(link.ops):
            self._ops.pop(op_id, None)
            await self._error(op_id, fault.message, fault.code)
        link.ops.clear()

    async def _from_upstream(self, link: UpstreamLink, op_id: str, kind: str, text: str) -> None:
        if op_id not in link.ops:
            return
        if kind == "next" and await self._enforce_roles(op_id):
            return
        if kind != "next":
            link.ops.discard(op_id)
            self._ops.pop(op_id, None)
        await self._send_text(text)

    async def _error(self, op_id: str, message: str, code: str = "BAD_REQUEST") -> None:
        error = {"message": message, "extensions": {"code": code}}
        await self._send_text(
            orjson.dumps({"id": op_id, "type": "error", "payload": [error]}).decode()
        )

    async def _error_of(self, op_id: str, error: GatewayError) -> None:
        message = {"id": op_id, "type": "error", "payload": [error.error()]}
        await self._send_text(orjson.dumps(message).decode())


def _parse(text: str) -> dict[str, Any]:
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise Close(BAD_REQUEST, "WebSocket message must be valid JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise Close(BAD_REQUEST, "Failed to parse message")
    return message


def _query_app(query_string: bytes) -> str | None:
    values = parse_qs(query_string.decode("latin-1")).get("app")
    return values[0] if values else None
