"""What both apps' schemas share: a depth limit, error masking, quiet expected errors."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, QueryDepthLimiter
from strawberry.types import ExecutionContext

from tenantgate.refapps.errors import RefAppError

logger = logging.getLogger(__name__)

MAX_DEPTH = 10


class MaskUnexpectedErrors(MaskErrors):
    """Replaces errors not raised on purpose with a bare INTERNAL_SERVER_ERROR."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
        return masked


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, RefAppError)


class RefAppSchema(strawberry.Schema):
    """Reports domain errors as they are and masks anything unexpected."""

    def __init__(self, query: type, mutation: type | None = None, **kwargs: Any) -> None:
        super().__init__(
            query=query,
            mutation=mutation,
            extensions=[MaskUnexpectedErrors, partial(QueryDepthLimiter, max_depth=MAX_DEPTH)],
            **kwargs,
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if is_unexpected(error):
                logger.error("resolver failed", exc_info=error.original_error)
