"""What a valid name, region, URL or app list looks like. No I/O here."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tenantgate.registry.errors import InvalidInput

# Check with fullmatch: with match, "$" lets a trailing newline through.
APP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
APPLICATION_ID = re.compile(r"^[0-9]{1,20}$")
TENANT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SECRET_ID = re.compile(r"^sec_[A-Za-z0-9_-]{1,28}$")
URL_CHARS = re.compile(r"[\x21-\x7e]+")  # RFC 3986: printable ASCII, no spaces
STATUSES = ("active", "suspended")
MAX_SECRET_DAYS = 3650
DAY = 86400.0


def display_name(value: str, field: str = "name", limit: int = 200) -> str:
    value = value.strip()
    if not value or len(value) > limit or not _storable(value):
        raise InvalidInput(f"{field} must be 1 to {limit} printable characters")
    return value


def _storable(value: str) -> bool:
    """No control characters, and no lone surrogates, which no database can store."""
    return not any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in value)


def slug(value: str, field: str) -> str:
    if not SLUG.fullmatch(value):
        raise InvalidInput(f"{field} must be lower-case letters, digits and '-', at most 64")
    return value


def app_name(value: str) -> str:
    if not APP_NAME.fullmatch(value):
        raise InvalidInput("app name must be lower-case letters, digits, '-' or '_', at most 64")
    return value


def app_names(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return sorted({app_name(v) for v in values})


def status(value: str) -> str:
    if value not in STATUSES:
        raise InvalidInput("status must be 'active' or 'suspended'")
    return value


def secret_days(value: int | None, field: str = "expires_in_days") -> int | None:
    """A client secret's lifetime in whole days, 1 to ten years; ``None``: no lifetime given."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SECRET_DAYS:
        raise InvalidInput(f"{field} must be a whole number of days, 1 to {MAX_SECRET_DAYS}")
    return value


def upstream_url(value: str, schemes: tuple[str, ...], field: str) -> str:
    wrong = InvalidInput(f"{field} must be an absolute {' or '.join(schemes)} URL")
    try:
        parts = urlsplit(value)
    except ValueError as exc:  # such as an unclosed IPv6 bracket
        raise wrong from exc
    if parts.scheme not in schemes or not parts.hostname or len(value) > 2000:
        raise wrong
    if not URL_CHARS.fullmatch(value):
        raise InvalidInput(f"{field} must be printable ASCII: percent-encode anything else")
    if parts.username or parts.password or parts.fragment:
        raise InvalidInput(f"{field} must not carry credentials or a fragment")
    return value


def application_id(value: str) -> str:
    if not APPLICATION_ID.fullmatch(value):
        raise InvalidInput("application_id must be digits")
    return value


def tenant_id(value: str) -> str:
    if not TENANT_ID.fullmatch(value):
        raise InvalidInput("tenant_id must be URL-safe characters")
    return value


def api_user_email(application_id: str, domain: str) -> str:
    return f"{application_id}@{domain}"
