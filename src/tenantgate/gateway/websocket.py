"""``/v1/ws``: GraphQL subscriptions to the apps of a token's tenant over graphql-transport-ws.

A caller's connection is authenticated once, at ``connection_init`` (token from the upgrade's
``Authorization`` header or from the payload, see ``ws_rules.socket_token``), then watched: the
token is verified again from memory every ``check_interval`` seconds and at its expiry, and
the connection is closed with 4401 when it expires or is invalidated, 4403 when access is
withdrawn. Each ``subscribe`` names its app (``extensions.app``, else the URL's ``?app=``) and
goes, under the HTTP gateway's rules, to that app's upstream over one ``UpstreamLink`` per app.
A subscription runs only while the app's query limits and the API user's roles allow it:
checked at ``subscribe``, before each event is relayed and at each watch, so that a limit
lowered or a role taken away ends the subscription (an ``error`` with code
``QUERY_TOO_COMPLEX`` or ``FORBIDDEN``) before its next event.

Each ``subscribe`` is one request of the API user's rate limit and daily quota: the node's one
``RateLimiter`` (``Services.rates``, in memory or in Redis), under the HTTP gateway's key, and
in its order: once the token reaches the app, before the document is read, so that a
subscription refused for its document or its roles counts as such an HTTP request does. Its
events are not counted: it was counted when it began, and a rate limit lowered later does not
end it. Each ``subscribe`` answered is recorded in the usage tally as a request is, 200 when it
was forwarded, else with the status and code of its refusal over HTTP.

The endpoint is plain ASGI: the messages it sends and reads are few and simple, and it needs
to send from several tasks (the caller's reader, the watch, one relay per upstream)."""

from __future__ import annotations

import asyncio
import contextlib
import time
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
from tenantgate.gateway.errors import BadRequest, Forbidden, GatewayError, RateLimited
from tenantgate.gateway.headers import read_request_headers
from tenantgate.gateway.policy import Read
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
from tenantgate.registry.state import AppRoute
from tenantgate.services import Services
from tenantgate.tokens.errors import InsufficientScope
from tenantgate.tokens.verifier import Access, AccessClaims, TokenVerifier

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


class _TooManySubscriptions(GatewayError):
    """Over ``MAX_SUBSCRIPTIONS`` on one socket: a refusal of WebSocket alone."""

    status_code = 429
    code = "TOO_MANY_SUBSCRIPTIONS"
    message = "Subscription limit reached"


@dataclass(slots=True)
class _Op:
    """A caller's subscription: the link it runs on, and what the app's limits and the API
    user's roles are checked against (``operation``: ``None`` until something needs it)."""

    link: UpstreamLink
    read: Read
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
        self.policy = services.policy
        self.clock: Clock = services.clock
        self.rates = services.rates
        self.usage = services.usage if settings.gateway_usage else None
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
                await self._enforce_policy(op_id)
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
        started = time.perf_counter()
        app = subscription_app(payload, self._default_app)
        read = partial(from_payload, payload)
        try:
            access, route, operation = await self._admit(app, read)
        except GatewayError as error:
            self._count(app, error.status_code, error.code, started)
            log.info("ws_refused", reason=error.reason, app=app, request_id=self._request_id)
            await self._error_of(op_id, error)
            return
        assert app is not None
        link = self._links.get(app) or self._open(app, websocket_url(route), access.claims)
        self._ops[op_id] = _Op(link, read, operation)
        link.ops.add(op_id)
        self._queue(link, text)
        self._count(app, 200, None, started)

    async def _admit(
        self, app: str | None, read: Read
    ) -> tuple[Access, AppRoute, Operation | None]:
        """The token's access, the app's route and the operation (as ``Policy.check`` gives
        it), once every rule allows the subscription; in the HTTP gateway's order: the token
        reaches the app (403), the rate (429), then the document, the limits and the roles."""
        if len(self._ops) >= MAX_SUBSCRIPTIONS:
            raise _TooManySubscriptions("subscription limit reached")
        if app is None:
            message = "Name the app: extensions.app, or ?app= on the URL."
            raise BadRequest("no app named", message=message)
        assert self._access is not None
        access = self._access.verify()
        try:
            route = route_for(access, app)
        except InsufficientScope as exc:
            raise Forbidden(exc.reason) from None
        await self._take_rate(access)
        return access, route, self._endpoint.policy.check(access, app, route, read)

    async def _take_rate(self, access: Access) -> None:
        """One request of the API user's rate and daily quota, as the HTTP gateway counts it:
        the same limiter and key; :class:`RateLimited` past them."""
        rates = self._endpoint.rates
        found = rates.allowance(access.api_user.allowance)
        if found is None:
            return
        claims = access.claims
        outcome = await rates.take(f"{claims.tenant_id}/{claims.application_id}", found[0])
        if not outcome.allowed:
            raise RateLimited(outcome.retry_after)

    def _count(self, app: str | None, status: int, code: str | None, started: float) -> None:
        """Usage, as the HTTP gateway records a request: from the subscribe read to its answer
        decided (forwarded, or refused with ``code``)."""
        usage = self._endpoint.usage
        if usage is not None:
            assert self._user is not None
            tenant_id, application_id = self._user
            seconds = time.perf_counter() - started
            usage.record(tenant_id, application_id, app, status, code, seconds)

    def _complete(self, message: dict[str, Any], text: str) -> None:
        op_id = message.get("id")
        op = self._ops.pop(op_id, None) if isinstance(op_id, str) else None
        if op is not None:
            op.link.ops.discard(message["id"])
            self._queue(op.link, text)

    def _refusal(self, op: _Op) -> GatewayError | None:
        """Why the app's limits and the API user's roles, as memory holds them now, refuse the
        subscription; ``None`` also when the API user or the app is gone: the watch closes the
        connection (4403)."""
        assert self._user is not None
        state = self._endpoint.state
        user = state.api_users.get(self._user)
        tenant = state.tenants.get(self._user[0])
        route = None if tenant is None else tenant.apps.get(op.link.app)
        if user is None or route is None:
            return None
        policy = self._endpoint.policy
        try:
            op.operation = policy.recheck(user, op.link.app, route, op.read, op.operation)
        except GatewayError as error:
            return error
        return None

    async def _enforce_policy(self, op_id: str) -> bool:
        """Ends the subscription if the limits or roles now refuse it; whether they did."""
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
        if kind == "next" and await self._enforce_policy(op_id):
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
