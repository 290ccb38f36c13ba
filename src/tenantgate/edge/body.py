"""JSON bodies read one way on every surface that parses them: a nesting limit checked before
the parser runs (so that no body can make it recurse a thousand levels), strict UTF-8, and
objects whose keys are unique (a repeated key is refused, as a repeated form field is, rather
than the last one silently winning). The size limit is the caller's, before reading."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class BadBody(ValueError):
    """The body is not what the surface accepts; the message says why, for a 400."""


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in ``body`` (strings skipped); a scan of the bytes,
    not a parse, so it cannot recurse."""
    brackets = _STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads(body: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of ``body``; raises :class:`BadBody`."""
    if json_depth(body) > max_depth:
        raise BadBody(f"The JSON body nests deeper than {max_depth} levels.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody("The body is not valid UTF-8.") from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except RecursionError:  # pragma: no cover - json_depth bounds the nesting first
        raise BadBody(f"The JSON body nests deeper than {max_depth} levels.") from None
    except ValueError as exc:
        if isinstance(exc, BadBody):
            raise
        raise BadBody("The body is not valid JSON.") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise BadBody(f"The JSON key {key!r} is given more than once.")
        found[key] = value
    return found
