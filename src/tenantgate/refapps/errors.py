"""Errors the reference apps report to GraphQL callers.

Each carries ``extensions`` (with the GraphQL ``code``), which graphql-core copies onto the
error it returns, so resolvers and stores raise these and never build GraphQL errors.

    RefAppError
    ├── NotFound           NOT_FOUND
    ├── BadUserInput       BAD_USER_INPUT
    └── InsufficientStock  INSUFFICIENT_STOCK
"""

from __future__ import annotations

from typing import Any, TypeVar


class RefAppError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions: dict[str, Any] = {"code": self.code, **details}


class NotFound(RefAppError):
    code = "NOT_FOUND"


class BadUserInput(RefAppError):
    code = "BAD_USER_INPUT"


class InsufficientStock(RefAppError):
    code = "INSUFFICIENT_STOCK"


RowT = TypeVar("RowT")


def found(row: RowT | None, kind: str, row_id: str) -> RowT:
    if row is None:
        raise NotFound(f"no {kind} with id {row_id!r}")
    return row
