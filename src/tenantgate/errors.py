"""The errors a request is refused with, one family for the registry, the console, the admin
API and the CLI. Each carries its HTTP status, the ``code`` of the JSON error shape and a
description written for people: the admin API answers ``{"error": code, "error_description":
description}``, the console renders a page with that status, the CLI prints the description.

TenantgateError          400  invalid_request
├── InvalidInput         400  invalid_request   a value is not valid
├── Forbidden            403  forbidden         known, but not allowed
├── NotFound             404  not_found         no such thing, or not one of yours
├── Conflict             409  conflict          clashes with what is there
├── Gone                 410  gone              existed, and can no longer be used
└── TooLarge             413  invalid_request   a body over its limit

The console adds its own (CSRF, sign-in, attempts) in :mod:`tenantgate.console.errors`."""

from __future__ import annotations


class TenantgateError(Exception):
    status_code = 400
    code = "invalid_request"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidInput(TenantgateError):
    status_code = 400
    code = "invalid_request"


class Forbidden(TenantgateError):
    status_code = 403
    code = "forbidden"


class NotFound(TenantgateError):
    status_code = 404
    code = "not_found"


class Conflict(TenantgateError):
    status_code = 409
    code = "conflict"


class Gone(TenantgateError):
    """It existed and can no longer be used, e.g. an invite that was used or has expired."""

    status_code = 410
    code = "gone"


class TooLarge(TenantgateError):
    status_code = 413
    code = "invalid_request"
