"""Errors of the registry. The admin API and the console turn them into responses."""


class RegistryError(Exception):
    status_code = 400
    code = "invalid_request"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidInput(RegistryError):
    status_code = 400
    code = "invalid_request"


class NotFound(RegistryError):
    status_code = 404
    code = "not_found"


class Conflict(RegistryError):
    status_code = 409
    code = "conflict"


class Gone(RegistryError):
    """It existed and can no longer be used, e.g. an invite that was used or has expired."""

    status_code = 410
    code = "gone"
