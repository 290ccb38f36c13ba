"""The rules of ``/v1/ws``, apart from the socket: which token a connection carries, which app
a subscription is for, and what a live connection may still do. No I/O here.

``Close`` is how every rule refuses a connection: it carries the WebSocket close code (the
graphql-transport-ws codes, plus 4401/4403 for tokens) and a short public reason, which never
holds the token."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tenantgate.clock import Clock
from tenantgate.gateway.headers import Incoming, bearer_token
from tenantgate.gateway.scope import upstream_route
from tenantgate.registry.state import AppRoute
from tenantgate.tokens.errors import InsufficientScope, InvalidToken, NotCurrent
from tenantgate.tokens.verifier import Access, TokenVerifier

BAD_REQUEST = 4400
UNAUTHORIZED = 4401
FORBIDDEN = 4403
SUBPROTOCOL_NOT_ACCEPTABLE = 4406
INIT_TIMEOUT = 4408
SUBSCRIBER_EXISTS = 4409
TOO_MANY_INITS = 4429
MESSAGE_TOO_BIG = 1009
INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013  # this node is not current (TENANTGATE_MAX_STALENESS)

# What the verifier says when the token itself is fine but its tenant no longer admits the
# application: access withdrawn (4403), where an expired or invalidated token is 4401.
WITHDRAWN = frozenset({"api user disabled or deleted", "application suspended", "tenant suspended"})

_PAYLOAD_BEARERS = ("Authorization", "authorization")
_MAX_REASON = 120  # bytes; RFC 6455 §5.5 leaves 123 for the reason of a close frame
_WITHDRAWN = "Forbidden: access withdrawn"


class Close(Exception):
    """End the connection with ``code``; ``reason`` is sent, ``detail`` only logged."""

    def __init__(self, code: int, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason.encode()[:_MAX_REASON].decode(errors="ignore")
        self.detail = detail or reason


def socket_token(upgrade: Incoming, payload: Mapping[str, object]) -> str:
    """The one bearer token of a connection: from the upgrade's ``Authorization`` header and
    from the ``connection_init`` payload's ``Authorization``/``authorization`` (``Bearer
    <token>``) or ``access_token`` (the bare token). Missing, malformed, or two different ones:
    4401."""
    found: set[str] = set()
    if upgrade.authorizations:
        found.add(_bearer(upgrade))
    for key in _PAYLOAD_BEARERS:
        if key in payload:
            found.add(_bearer(_as_header(payload[key])))
    if "access_token" in payload:
        found.add(_bearer(_as_header(payload["access_token"], scheme="Bearer ")))
    if not found:
        raise Close(UNAUTHORIZED, "Unauthorized: no bearer token")
    if len(found) > 1:
        raise Close(UNAUTHORIZED, "Unauthorized: two different bearer tokens")
    return found.pop()


def _as_header(value: object, scheme: str = "") -> Incoming:
    if not isinstance(value, str):
        return Incoming([], None, 1)
    return Incoming([], (scheme + value).encode("utf-8", "replace"), 1)


def _bearer(incoming: Incoming) -> str:
    token = bearer_token(incoming)
    if token is None:
        raise Close(UNAUTHORIZED, "Unauthorized: malformed bearer token")
    return token


def subscription_app(payload: Mapping[str, object], default: str | None) -> str | None:
    """The app a ``subscribe`` is for: its ``extensions.app``, else the URL's ``?app=``."""
    extensions = payload.get("extensions")
    if isinstance(extensions, Mapping) and "app" in extensions:
        app = extensions["app"]
        return app if isinstance(app, str) and app else None
    return default


@dataclass(slots=True)
class SocketAccess:
    """A connection's token, checked against memory whenever asked: at ``connection_init``,
    at each ``subscribe``, and by the watch of a live connection."""

    verifier: TokenVerifier
    token: str
    clock: Clock

    def verify(self, *, live: bool = True) -> Access:
        """The token's access now; on a live connection a withdrawn access is 4403, otherwise
        any refusal is 4401 (as HTTP answers 401)."""
        try:
            return self.verifier.verify(self.token)
        except NotCurrent:
            raise Close(TRY_AGAIN_LATER, "Try again later: this node is not current") from None
        except InvalidToken as exc:
            if live and exc.reason in WITHDRAWN:
                raise Close(FORBIDDEN, "Forbidden: access withdrawn", exc.reason) from None
            raise Close(
                UNAUTHORIZED, "Unauthorized: token expired or invalid", exc.reason
            ) from None

    def check(self, apps: Iterable[str]) -> Access:
        """The watch's question: is the token live, and does it still reach every app in use?"""
        access = self.verify()
        for app in apps:
            try:
                route_for(access, app)
            except InsufficientScope as exc:
                raise Close(FORBIDDEN, _WITHDRAWN, exc.reason) from None
        return access

    def seconds_to_next_check(self, access: Access, interval: float) -> float:
        """``interval``, or less when the token expires sooner, so expiry closes on time."""
        left = access.claims.expires_at - self.clock()
        return max(0.0, min(interval, left))


def route_for(access: Access, app: str) -> AppRoute:
    """The same rule as HTTP, on the cluster of the token's own tenant."""
    return upstream_route(access, access.tenant.cluster, app)


def websocket_url(route: AppRoute) -> str:
    """The app's upstream WebSocket URL: as configured, else its GraphQL URL with ws(s)."""
    if route.websocket_url:
        return route.websocket_url
    url = route.graphql_url
    if url.startswith("https://"):
        return "wss://" + url.removeprefix("https://")
    if url.startswith("http://"):
        return "ws://" + url.removeprefix("http://")
    return url
