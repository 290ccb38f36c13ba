"""The caller's address, scheme and host behind trusted proxies.

A proxy appends the address it received the request from to ``X-Forwarded-For`` (or adds a
``Forwarded`` element, RFC 7239 §4), so everything to the left of what the nearest proxy wrote
is the caller's own say. The chain is therefore read from the right, starting at the direct
peer: while a hop is a trusted proxy, the hop to its left is believed; the first untrusted hop
is the caller. From an untrusted peer the headers are ignored; an entry that is not an address
(junk, ``unknown``, an obfuscated ``_name``) ends the walk at the last good hop, since nothing
to its left can be checked.

Only the kind of header the proxies write is read (``x-forwarded`` or ``forwarded``): a caller
may send the other kind, and a proxy passes it through untouched."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Literal

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
HeaderKind = Literal["x-forwarded", "forwarded"]
Headers = list[tuple[bytes, bytes]]

MAX_ADDRESS = 64
_QUOTED_PAIR = re.compile(r"\\(.)")
_PEER_CACHE = 1024


def parse_networks(entries: Iterable[str]) -> list[Network]:
    """Addresses and CIDRs; a ``ValueError`` names the first entry that is neither."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry.strip()!r} is not an IP address or network") from None
    return networks


def parse_node(node: str) -> Address | None:
    """An address from an ``X-Forwarded-For`` entry or a ``for=`` node: ``192.0.2.1``,
    ``192.0.2.1:80``, ``2001:db8::1``, ``[2001:db8::1]:4711``; ``None`` for anything else."""
    node = node.strip().strip('"')
    if node.startswith("["):
        end = node.find("]")
        if end < 0:
            return None
        node = node[1:end]
    elif node.count(":") == 1:
        node = node.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(node)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def split_outside_quotes(value: str, separator: str) -> list[str]:
    if '"' not in value:
        return value.split(separator)
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def forwarded_elements(value: str) -> list[dict[str, str]]:
    """RFC 7239 ``Forwarded`` as one dict per element, left to right; names lower-cased,
    quoted values unquoted."""
    elements = []
    for element in split_outside_quotes(value, ","):
        pairs: dict[str, str] = {}
        for pair in split_outside_quotes(element, ";"):
            name, equals, raw = pair.partition("=")
            if equals:
                pairs[name.strip().lower()] = _unquote(raw.strip())
        elements.append(pairs)
    return elements


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return _QUOTED_PAIR.sub(r"\1", value[1:-1])
    return value


def joined(headers: Headers, name: bytes) -> str:
    """Every line of header ``name``, in order, joined as one comma-separated list."""
    return ",".join(v.decode("latin-1") for k, v in headers if k == name)


class ProxyTrust:
    """Which peers are trusted proxies, built once from the settings."""

    def __init__(
        self,
        networks: Iterable[Network] = (),
        *,
        peer_trusted: bool = False,
        kind: HeaderKind = "x-forwarded",
    ) -> None:
        self._networks = tuple(networks)
        self._peer_trusted = peer_trusted
        self._kind = kind
        self._peers: dict[str, bool] = {}
        self.active = peer_trusted or bool(self._networks)

    def trusts(self, address: Address) -> bool:
        return any(address in network for network in self._networks)

    def client(self, scope: Any) -> str:
        """The caller's address, at most 64 characters."""
        peer = scope.get("client")
        client = str(peer[0]) if peer else "unknown"
        if not self._trusted_peer(client):
            return client[:MAX_ADDRESS]
        for hop in reversed(self._hops(scope["headers"])):
            address = parse_node(hop)
            if address is None:
                break
            client = str(address)
            if not self.trusts(address):
                break
        return client[:MAX_ADDRESS]

    def origin(self, scope: Any) -> tuple[str | None, str | None]:
        """The scheme and host the nearest trusted proxy says the request came in on (the
        right-most value); ``None`` for what it did not say, or from an untrusted peer."""
        peer = scope.get("client")
        if not self._trusted_peer(str(peer[0]) if peer else "unknown"):
            return None, None
        headers = scope["headers"]
        if self._kind == "forwarded":
            elements = forwarded_elements(joined(headers, b"forwarded"))
            nearest = elements[-1] if elements else {}
            return nearest.get("proto"), nearest.get("host")
        proto = joined(headers, b"x-forwarded-proto").rsplit(",", 1)[-1].strip()
        host = joined(headers, b"x-forwarded-host").rsplit(",", 1)[-1].strip()
        return proto or None, host or None

    def _hops(self, headers: Headers) -> list[str]:
        if self._kind == "forwarded":
            elements = forwarded_elements(joined(headers, b"forwarded"))
            return [element.get("for", "") for element in elements]
        value = joined(headers, b"x-forwarded-for")
        return value.split(",") if value else []

    def _trusted_peer(self, peer: str) -> bool:
        """Whether the direct peer is a trusted proxy (any peer, a Unix socket's too, with
        ``peer_trusted``); remembered per peer, since a node sees few of them."""
        trusted = self._peers.get(peer)
        if trusted is None:
            address = parse_node(peer)
            trusted = self._peer_trusted or (address is not None and self.trusts(address))
            if len(self._peers) >= _PEER_CACHE:
                self._peers.clear()
            self._peers[peer] = trusted
        return trusted


@lru_cache(maxsize=32)
def proxy_trust(networks: tuple[Network, ...], peer_trusted: bool, kind: HeaderKind) -> ProxyTrust:
    return ProxyTrust(networks, peer_trusted=peer_trusted, kind=kind)
