"""``/v1/fwd/<cluster>/<app>/api``: check the bearer from memory, and where the API user holds
roles or the app has query limits the operation its document runs (``gateway.policy``), then
forward the GraphQL request to the app's upstream of the token's tenant and hand back what it
answers.

The endpoint is a plain ASGI callable mounted as a Starlette ``Route``: it reads ASGI's raw
header list once and answers with raw messages, because this is the hot path and Starlette's
``Request``/``Response`` objects would cost more than the rest of the checks together."""

from __future__ import annotations

import itertools
import re
import time
from functools import partial
from urllib.parse import quote

import structlog
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from tenantgate.gateway.errors import (
    Forbidden,
    GatewayError,
    MethodNotAllowed,
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from tenantgate.gateway.headers import (
    Incoming,
    RawHeaders,
    bearer_token,
    read_request_headers,
    response_headers,
    valid_request_id,
)
from tenantgate.gateway.ratelimit import limit_field
from tenantgate.gateway.request import from_body, from_query_string
from tenantgate.gateway.scope import upstream_route
from tenantgate.gateway.upstream import PooledUpstream, Target, Upstream, UpstreamResponse
from tenantgate.services import Services
from tenantgate.tokens.errors import InsufficientScope, InvalidToken, NotCurrent
from tenantgate.tokens.verifier import Access, TokenVerifier

log = structlog.get_logger(__name__)

PATH = "/v1/fwd/{cluster}/{app}/api"
# Upstream answers up to this size (by Content-Length) are read whole before the status is
# sent, so a fault while reading is still a clean 502/504; larger or unsized ones stream.
BUFFER_LIMIT = 1_048_576
_METHODS = {"GET": b"GET", "POST": b"POST"}
_JSON = (b"content-type", b"application/json")
_UNSAFE_QUERY = re.compile(rb"[^\x21-\x7e]|#")


class _ClientGone(Exception):
    pass


CLIENT_GONE = 499  # counted, never sent: the client left before the answer
ACCESS = "tenantgate.access"
"""Where ``_forward`` leaves the verified token in the ASGI scope, so that a refusal raised
after it is still counted under its tenant, application and app."""
RATES = "tenantgate.ratelimit"
"""Where ``_forward`` leaves the RateLimit fields of the answer, for a refusal too."""
_NO_HEADERS: RawHeaders = []


def gateway_routes(services: Services, upstream: Upstream | None = None) -> list[BaseRoute]:
    return [Route(PATH, Gateway(services, upstream))]


class Gateway:
    def __init__(self, services: Services, upstream: Upstream | None = None) -> None:
        settings = services.settings
        self._verifier: TokenVerifier = services.verifier
        # Request ids: a random prefix per gateway and a counter. Unique, not secret, and
        # without a system call per request.
        self._id_prefix = services.randomness.token_bytes(8).hex()
        self._id_counter = itertools.count(1)
        self._max_body = settings.max_body_bytes
        self._upstream = upstream or PooledUpstream(settings.upstream_timeout)
        self._targets: dict[str, Target] = {}
        self._metrics = services.metrics
        self._proof = services.gateway_proof
        self._usage = services.usage if settings.gateway_usage else None
        self._policy = services.policy
        self._clock = services.clock
        self._rates = services.rates  # shared with /v1/ws; Services opens and closes it

    async def aclose(self) -> None:
        await self._upstream.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        code: str | None = None
        incoming = read_request_headers(scope["headers"])
        request_id = valid_request_id(incoming.request_id) or self._new_request_id()
        try:
            status = await self._forward(scope, receive, send, incoming, request_id)
        except GatewayError as error:
            _log_refusal(scope, error, request_id)
            status, code = error.status_code, error.code
            await _send_error(send, error, request_id, scope.get(RATES, _NO_HEADERS))
        except _ClientGone:
            status, code = CLIENT_GONE, "CLIENT_GONE"
        self._metrics.gateway(status)
        self._count(scope, status, code, time.perf_counter() - started)

    def _count(self, scope: Scope, status: int, code: str | None, seconds: float) -> None:
        """Usage per (tenant, application, app); refused before the token is read: none."""
        usage = self._usage
        if usage is None:
            return
        access: Access | None = scope.get(ACCESS)
        if access is None:
            usage.record(None, None, None, status, code, seconds)
        else:
            claims = access.claims
            app = scope["path_params"]["app"]
            usage.record(claims.tenant_id, claims.application_id, app, status, code, seconds)

    def _new_request_id(self) -> bytes:
        return f"{self._id_prefix}{next(self._id_counter):016x}".encode()

    async def _forward(
        self, scope: Scope, receive: Receive, send: Send, incoming: Incoming, request_id: bytes
    ) -> int:
        """Forwards the request and relays the answer; returns the status sent."""
        method = _METHODS.get(scope["method"])
        if method is None:
            raise MethodNotAllowed(scope["method"])
        access = scope[ACCESS] = self._access(incoming)
        params = scope["path_params"]
        app = params["app"]
        try:
            route = upstream_route(access, params["cluster"], app)
        except InsufficientScope as exc:
            raise Forbidden(exc.reason) from None
        rates = await self._count_rate(scope, access)
        if method == b"POST":
            body = await self._body(receive, incoming.content_length)
            source = (incoming.content_type, body)
            read = partial(from_body, body, incoming.content_type)
            self._policy.check(access, app, route, read, source=source)
        else:
            body = b""
            query = scope["query_string"]
            read = partial(from_query_string, query)
            self._policy.check(access, app, route, read, over_get=True)
        target = self._target(route.graphql_url)
        claims = access.claims
        headers = incoming.forward
        headers.append((b"host", target.authority))
        headers.append((b"x-tenant-id", claims.tenant_id.encode()))
        headers.append((b"x-application-id", claims.application_id.encode()))
        headers.append((b"x-client-id", claims.client_id.encode()))
        headers.append((b"x-request-id", request_id))
        proof = self._proof.sign(claims.tenant_id, app, claims.jti)
        headers.append((b"x-tenantgate-gateway", proof.encode()))
        if method == b"POST":
            headers.append((b"content-length", str(len(body)).encode()))
            path = target.path
        else:
            path = _with_query(target.path, scope["query_string"])
        response = await self._upstream.send(method, target, path, headers, body)
        try:
            await _relay(send, response, request_id, rates)
        finally:
            await response.aclose()
        return response.status

    def _access(self, incoming: Incoming) -> Access:
        token = bearer_token(incoming)
        if token is None:
            raise Unauthenticated("missing or malformed bearer")
        try:
            return self._verifier.verify(token)
        except InvalidToken as exc:
            raise Unauthenticated(exc.reason) from None
        except NotCurrent:
            self._metrics.stale_refusals("gateway")
            raise Unavailable("not current") from None

    async def _count_rate(self, scope: Scope, access: Access) -> RawHeaders:
        """Counts the request against the API user's rate and daily quota (429 past them);
        the RateLimit fields for the answer, none for an API user without limits."""
        found = self._rates.allowance(access.api_user.allowance)
        if found is None:
            return _NO_HEADERS
        allowance, policy = found
        claims = access.claims
        outcome = await self._rates.take(f"{claims.tenant_id}/{claims.application_id}", allowance)
        now = self._clock()
        rates = [
            (b"ratelimit-policy", policy),
            (b"ratelimit", limit_field(allowance, outcome, now)),
        ]
        scope[RATES] = rates
        if not outcome.allowed:
            raise RateLimited(outcome.retry_after)
        return rates

    def _target(self, url: str) -> Target:
        target = self._targets.get(url)
        if target is None:
            if len(self._targets) > 10_000:
                self._targets.clear()
            target = self._targets[url] = Target.parse(url)
        return target

    async def _body(self, receive: Receive, declared: bytes | None) -> bytes:
        """The request body, refused with 413 as soon as it is known to be over the limit:
        by its Content-Length first, then by counting what arrives."""
        limit = self._max_body
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge("declared length over limit")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge("streamed length over limit")
            if not message.get("more_body", False):
                if not chunks:
                    return chunk
                chunks.append(chunk)
                return b"".join(chunks)
            chunks.append(chunk)


async def _relay(
    send: Send, response: UpstreamResponse, request_id: bytes, extra: RawHeaders
) -> None:
    headers, length = response_headers(response.headers, request_id)
    headers.extend(extra)
    if length is not None and length.isdigit() and int(length) <= BUFFER_LIMIT:
        body = await response.read()
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    if length is not None:
        headers.append((b"content-length", length))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    try:
        async for chunk in response.chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except GatewayError as error:
        log.warning("gateway_stream_broken", reason=error.reason, request_id=request_id.decode())
        return
    await send({"type": "http.response.body", "body": b""})


def _with_query(path: bytes, query: bytes) -> bytes:
    """Only the GET query string travels, appended to the operator's fixed URL."""
    if not query:
        return path
    if _UNSAFE_QUERY.search(query):
        query = quote(query, safe="!$&'()*+,;=:@/?%-._~").encode()
    return path + (b"&" if b"?" in path else b"?") + query


_ERROR_BODIES: dict[type[GatewayError], bytes] = {}


async def _send_error(
    send: Send, error: GatewayError, request_id: bytes, extra: RawHeaders
) -> None:
    kind = type(error)
    body = _ERROR_BODIES.get(kind) if error.plain else error.render()
    if body is None:
        body = _ERROR_BODIES[kind] = kind.body()
    headers: RawHeaders = [
        _JSON,
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id),
        *error.extra_headers,
        *extra,
    ]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _log_refusal(scope: Scope, error: GatewayError, request_id: bytes) -> None:
    emit = log.warning if error.status_code >= 500 else log.info
    params = scope.get("path_params", {})
    emit(
        "gateway_refused",
        status=error.status_code,
        reason=error.reason,
        cluster=params.get("cluster"),
        app=params.get("app"),
        request_id=request_id.decode(),
    )
