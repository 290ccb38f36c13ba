"""Errors of the console: tenantgate's own (:mod:`tenantgate.errors`), which ``app.py``
renders as a page with their status code, and those only the console has.

TenantgateError (tenantgate.errors: InvalidInput 400, Forbidden 403, NotFound 404, Conflict 409,
│                Gone 410)
├── CsrfRefused         403  the form's CSRF token is missing or wrong
├── FormTooLarge        413  a form over the console's limit
├── TooManyAttempts     429  sign-in rate limit
└── SignInRequired      ---  not signed in: a redirect to the sign-in page
"""

from __future__ import annotations

from tenantgate.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, TooLarge
from tenantgate.errors import TenantgateError as ConsoleError

__all__ = [
    "Conflict",
    "ConsoleError",
    "CsrfRefused",
    "Forbidden",
    "FormTooLarge",
    "Gone",
    "InvalidInput",
    "NotFound",
    "SignInRequired",
    "TooManyAttempts",
]


class CsrfRefused(Forbidden):
    def __init__(
        self,
        description: str = "The form expired or did not come from this site. "
        "Reload the page and try again.",
    ) -> None:
        super().__init__(description)


class FormTooLarge(TooLarge):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The form is larger than {limit} bytes.")


class TooManyAttempts(ConsoleError):
    status_code = 429
    code = "slow_down"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed attempts. Try again in {retry_after} seconds.")
        self.retry_after = retry_after


class SignInRequired(ConsoleError):
    status_code = 303

    def __init__(self) -> None:
        super().__init__("Please sign in.")
