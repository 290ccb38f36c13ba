"""What the gateway reads of a GraphQL document: its operations, each as its type, the root
fields it selects and its size, so that roles and query limits can be checked before the
upstream sees the request.

The operation that will run is chosen as the upstream chooses it (GraphQL §6.1,
GetOperation): by ``operationName``, or the only operation when none is named. Root fields are
collected through inline fragments and fragment spreads on the root type, whatever their type
condition and directives: a field that ``@skip`` or a wrong type condition would leave out is
still counted, so the check can only be stricter than execution. A document the upstream would
read differently from the gateway (an unknown, repeated or cyclic fragment, two operations of
one name, two anonymous ones, a type definition) is refused rather than guessed at.

Parsing costs far more than the rest of the gateway's work, so each document is read once:
the analysis of the whole document is kept in a bounded LRU keyed by the BLAKE2b hash (128
bits) of the query text, shared by every caller. A repeated query then costs a hash and a
dictionary look-up. Sizes are counted with every fragment spread expanded, but computed once
per fragment, so a document of fragments that spread each other many times over costs no more
to measure than to parse."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from hashlib import blake2b
from typing import Generic, TypeVar

from graphql import GraphQLError
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
)
from graphql.language.parser import Parser

from tenantgate.gateway.errors import (
    GatewayError,
    OperationUnresolved,
    ParseFailed,
    QueryTooComplex,
    ValidationFailed,
)
from tenantgate.registry.grants import FREE_FIELDS, INTROSPECTION_FIELDS

CACHE_SIZE = 10_000
_NOT_AUTHORIZED = FREE_FIELDS | INTROSPECTION_FIELDS

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    """At most ``size`` values by key, the least recently used dropped first."""

    __slots__ = ("_entries", "_size")

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Operation:
    kind: str
    """``query``, ``mutation`` or ``subscription``."""
    fields: tuple[str, ...]
    """The root fields a grant must cover, in document order, each once (``__typename`` and
    introspection left out)."""
    first: str | None
    """The first root field selected, whatever it is: named when no grant covers the type."""
    introspection: str | None
    """``__schema`` or ``__type`` if the operation selects one at the root."""
    depth: int
    aliases: int
    root_fields: int
    tokens: int
    """Of the whole document, comments included."""


@dataclass(frozen=True, slots=True)
class Document:
    by_name: dict[str, Operation]
    only: Operation | None
    """The operation, when the document has exactly one."""
    count: int

    def operation(self, name: str | None) -> Operation:
        if name is None:
            if self.only is None:
                raise OperationUnresolved(
                    "no operationName",
                    message="The document has several operations: name one in operationName."
                    if self.count
                    else "The document has no operation.",
                )
            return self.only
        operation = self.by_name.get(name)
        if operation is None:
            raise OperationUnresolved(
                "unknown operationName", message=f"Unknown operation named {name[:100]!r}."
            )
        return operation


class DocumentCache:
    """Analyses by document, least recently used dropped first. A document that does not
    parse is kept too, as its error; one refused for its token count is not, since the next
    caller's app may allow more."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._entries: Recent[bytes, Document | GatewayError] = Recent(size)

    def __len__(self) -> int:
        return len(self._entries)

    def operation(self, query: str, name: str | None, max_tokens: int | None = None) -> Operation:
        """The operation ``name`` selects in ``query``; raises the gateway's 400s. With
        ``max_tokens``, parsing a new document stops after that many tokens."""
        key = blake2b(query.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        entry = self._entries.get(key)
        if entry is None:
            entry = self._read(key, query, max_tokens)
        if isinstance(entry, GatewayError):
            raise entry.again()
        return entry.operation(name)

    def _read(self, key: bytes, query: str, max_tokens: int | None) -> Document | GatewayError:
        entry: Document | GatewayError
        try:
            entry = analyse(query, max_tokens)
        except QueryTooComplex:
            raise
        except GatewayError as error:
            entry = error
        self._entries.put(key, entry)
        return entry


def analyse(query: str, max_tokens: int | None = None) -> Document:
    document, tokens = _parse(query, max_tokens)
    fragments: dict[str, FragmentDefinitionNode] = {}
    operations: list[OperationDefinitionNode] = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            operations.append(definition)
        elif isinstance(definition, FragmentDefinitionNode):
            name = definition.name.value
            if name in fragments:
                raise _invalid(f"There can be only one fragment named {name!r}.")
            fragments[name] = definition
        else:
            raise _invalid("A request holds operations and fragments only.")
    reader = _Reader(fragments)
    by_name: dict[str, Operation] = {}
    anonymous: list[Operation] = []
    for node in operations:
        operation = reader.operation(node, tokens)
        if node.name is None:
            anonymous.append(operation)
        elif node.name.value in by_name:
            raise _invalid(f"There can be only one operation named {node.name.value!r}.")
        else:
            by_name[node.name.value] = operation
    if anonymous and len(operations) > 1:
        raise _invalid("An anonymous operation must be the only operation in the document.")
    only = (anonymous or list(by_name.values()))[0] if len(operations) == 1 else None
    return Document(by_name, only, len(operations))


def _parse(query: str, max_tokens: int | None) -> tuple[DocumentNode, int]:
    parser = Parser(query, no_location=True, max_tokens=max_tokens)
    try:
        return parser.parse_document(), parser.token_count
    except GraphQLError as error:
        if max_tokens is not None and parser.token_count > max_tokens:
            raise QueryTooComplex("max_tokens", max_tokens) from None
        raise ParseFailed("document does not parse", message=error.message[:300]) from None
    except RecursionError:
        raise ParseFailed(
            "document nests too deeply", message="The document nests too deeply."
        ) from None


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed("document is not valid", message=message)


@dataclass(frozen=True, slots=True)
class _Size:
    depth: int = 0
    aliases: int = 0
    fields: int = 0


_NOTHING = _Size()


class _Reader:
    """Measures selections with each fragment measured once per context (at the root, where
    ``__typename`` and introspection are left out, or below it)."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self._fragments = fragments
        self._sizes: dict[tuple[str, bool], _Size] = {}
        self._open: set[tuple[str, bool]] = set()

    def operation(self, node: OperationDefinitionNode, tokens: int) -> Operation:
        selections = node.selection_set.selections
        size = self._size(selections, root=True)
        names: dict[str, None] = {}
        self._root_names(selections, names, set())
        first = next(iter(names), None)
        introspection = next((n for n in names if n in INTROSPECTION_FIELDS), None)
        return Operation(
            kind=node.operation.value,
            fields=tuple(n for n in names if n not in _NOT_AUTHORIZED),
            first=first,
            introspection=introspection,
            depth=size.depth,
            aliases=size.aliases,
            root_fields=size.fields,
            tokens=tokens,
        )

    def _root_names(
        self, selections: Sequence[SelectionNode], names: dict[str, None], seen: set[str]
    ) -> None:
        """Every root field's name, in order, through fragments (each fragment once)."""
        for node in selections:
            if isinstance(node, FieldNode):
                names[node.name.value] = None
            elif isinstance(node, InlineFragmentNode):
                self._root_names(node.selection_set.selections, names, seen)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                seen.add(node.name.value)
                fragment = self._fragment(node.name.value)
                self._root_names(fragment.selection_set.selections, names, seen)

    def _size(self, selections: Sequence[SelectionNode], *, root: bool) -> _Size:
        depth = aliases = fields = 0
        for node in selections:
            if isinstance(node, FieldNode):
                if root and node.name.value in _NOT_AUTHORIZED:
                    continue
                inner = _NOTHING
                if node.selection_set is not None:
                    inner = self._size(node.selection_set.selections, root=False)
                depth = max(depth, inner.depth + 1)
                aliases += inner.aliases + (node.alias is not None)
                fields += 1
                continue
            if isinstance(node, InlineFragmentNode):
                inner = self._size(node.selection_set.selections, root=root)
            else:
                assert isinstance(node, FragmentSpreadNode)
                inner = self._spread(node.name.value, root)
            depth = max(depth, inner.depth)
            aliases += inner.aliases
            fields += inner.fields
        return _Size(depth, aliases, fields)

    def _spread(self, name: str, root: bool) -> _Size:
        key = (name, root)
        size = self._sizes.get(key)
        if size is None:
            if key in self._open:
                raise _invalid(f"The fragment {name!r} spreads itself.")
            self._open.add(key)
            size = self._size(self._fragment(name).selection_set.selections, root=root)
            self._open.discard(key)
            self._sizes[key] = size
        return size

    def _fragment(self, name: str) -> FragmentDefinitionNode:
        fragment = self._fragments.get(name)
        if fragment is None:
            raise _invalid(f"Unknown fragment {name!r}.")
        return fragment
