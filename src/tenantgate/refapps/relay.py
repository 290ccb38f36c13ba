"""Relay-style connections: ``edges { node cursor } pageInfo { hasNextPage endCursor }``."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry

from tenantgate.refapps.errors import BadUserInput
from tenantgate.refapps.pages import Page, PageRequest, RowT

NodeT = TypeVar("NodeT")

_CURSOR_PREFIX = "cursor:"


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    node: NodeT
    cursor: str


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    total_count: int


def encode_cursor(row_id: str) -> str:
    return base64.urlsafe_b64encode((_CURSOR_PREFIX + row_id).encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise BadUserInput("after is not a valid cursor") from exc
    if not text.startswith(_CURSOR_PREFIX):
        raise BadUserInput("after is not a valid cursor")
    return text.removeprefix(_CURSOR_PREFIX)


def page_request(first: int, after: str | None) -> PageRequest:
    return PageRequest(first=first, after=None if after is None else decode_cursor(after))


def connection(page: Page[RowT], convert: Callable[[RowT], NodeT]) -> Connection[NodeT]:
    edges = [Edge(node=convert(row), cursor=encode_cursor(row.id)) for row in page.rows]
    info = PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(edges=edges, page_info=info, total_count=page.total)
