"""CSRF protection for every console form.

Signed-in visitors: a synchronizer token kept with their server-side session. Visitors not yet
signed in (the sign-in and sign-up forms): a random nonce in a cookie, and in the form its HMAC
under the console key, so a page on another site can neither read nor forge the pair."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from tenantgate.console.errors import CsrfRefused

FIELD = "csrf_token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def anonymous_token(key: bytes, nonce: str) -> str:
    return hmac.new(key, b"csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def verify(expected: str | None, presented: object) -> None:
    if (
        not expected
        or not isinstance(presented, str)
        or not hmac.compare_digest(expected.encode(), presented.encode())
    ):
        raise CsrfRefused()
