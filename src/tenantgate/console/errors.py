"""Errors of the console. ``app.py`` renders each as a page with its status code.

ConsoleError
├── InvalidInput        400  a form field is not valid
├── CsrfRefused         403  the form's CSRF token is missing or wrong
├── Forbidden           403  signed in, but not allowed
├── NotFound            404  no such thing, or not one of yours
├── Conflict            409  e.g. an e-mail that already has an account
├── FormTooLarge        413  a form over the console's limit
├── TooManyAttempts     429  sign-in rate limit
└── SignInRequired      ---  not signed in: a redirect to the sign-in page
"""

from __future__ import annotations


class ConsoleError(Exception):
    status_code = 400

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidInput(ConsoleError):
    status_code = 400


class CsrfRefused(ConsoleError):
    status_code = 403

    def __init__(
        self,
        description: str = "The form expired or did not come from this site. "
        "Reload the page and try again.",
    ) -> None:
        super().__init__(description)


class Forbidden(ConsoleError):
    status_code = 403


class NotFound(ConsoleError):
    status_code = 404


class Conflict(ConsoleError):
    status_code = 409


class FormTooLarge(ConsoleError):
    status_code = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"The form is larger than {limit} bytes.")


class TooManyAttempts(ConsoleError):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed attempts. Try again in {retry_after} seconds.")
        self.retry_after = retry_after


class SignInRequired(ConsoleError):
    status_code = 303

    def __init__(self) -> None:
        super().__init__("Please sign in.")
