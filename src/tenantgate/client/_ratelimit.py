"""The RateLimit headers of a gateway answer (IETF draft-ietf-httpapi-ratelimit-headers-11):
``RateLimit-Policy`` names each policy with its quota ``q`` per window ``w`` seconds, and
``RateLimit`` says, per policy, what remains (``r``) and in how many seconds it resets
(``t``). Both are lists of structured-field items (RFC 9651): a string or token, then
``;key=value`` parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_ITEM = re.compile(
    r'\s*(?:"(?P<string>(?:[^"\\]|\\.)*)"|(?P<token>[A-Za-z*][A-Za-z0-9:/!#$%&\'*+.^_`|~-]*))'
    r'(?P<params>(?:\s*;\s*[a-z*][a-z0-9_.*-]*(?:=(?:-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*"|'
    r"[A-Za-z*][A-Za-z0-9:/!#$%&'*+.^_`|~-]*|\?[01]))?)*)\s*(?:,|$)"
)
_PARAM = re.compile(
    r'\s*;\s*([a-z*][a-z0-9_.*-]*)(?:=(-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*"|[^;,\s]+))?'
)


@dataclass(frozen=True)
class Policy:
    """A quota of ``quota`` units per ``window`` seconds."""

    quota: int | None
    window: int | None


@dataclass(frozen=True)
class Limit:
    """What is left of a policy's quota, and in how many seconds it is whole again."""

    remaining: int | None
    reset: int | None


@dataclass(frozen=True)
class RateLimit:
    """The RateLimit headers of one answer, by policy name."""

    policies: dict[str, Policy] = field(default_factory=dict)
    limits: dict[str, Limit] = field(default_factory=dict)

    @property
    def remaining(self) -> int | None:
        """The least remaining over the policies: how many more requests surely pass."""
        left = [limit.remaining for limit in self.limits.values() if limit.remaining is not None]
        return min(left) if left else None


def rate_limit_of(headers: Mapping[str, str]) -> RateLimit | None:
    """The answer's RateLimit headers, or None when it carries neither (or only junk)."""
    policies = {
        name: Policy(_int(params.get("q")), _int(params.get("w")))
        for name, params in _items(headers.get("ratelimit-policy", ""))
    }
    limits = {
        name: Limit(_int(params.get("r")), _int(params.get("t")))
        for name, params in _items(headers.get("ratelimit", ""))
    }
    if not policies and not limits:
        return None
    return RateLimit(policies, limits)


def _items(value: str) -> list[tuple[str, dict[str, str]]]:
    found: list[tuple[str, dict[str, str]]] = []
    at = 0
    while at < len(value):
        match = _ITEM.match(value, at)
        if match is None or match.end() == at:
            return found  # stop at the first item that does not parse; keep what did
        name = match.group("string") if match.group("string") is not None else match.group("token")
        params = {key: raw.strip('"') for key, raw in _PARAM.findall(match.group("params") or "")}
        found.append((name, params))
        at = match.end()
    return found


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
