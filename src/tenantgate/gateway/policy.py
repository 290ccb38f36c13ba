"""What the gateway checks in a request's GraphQL document, over HTTP and WebSocket alike: the
operation it runs, and whether the API user's roles allow that operation on the app.

Nothing is parsed for an API user without roles: its request is forwarded as it came, and the
upstream reads it. For one with roles, the document's analysis comes from the cache
(:mod:`tenantgate.gateway.document`) and the check is a look-up of the operation's root
fields in what the roles grant, compiled once per API user (``RegistryState.permissions``).
Memory is the only source: a role or an API user changed on any node is obeyed from the
moment it is applied here, by new requests and by open subscriptions alike."""

from __future__ import annotations

from collections.abc import Callable

from tenantgate.gateway.document import CACHE_SIZE, DocumentCache, Operation
from tenantgate.gateway.errors import NotOverGet, RoleForbids
from tenantgate.gateway.request import GraphQLRequest
from tenantgate.registry.state import ApiUserRecord, RegistryState
from tenantgate.tokens.verifier import Access

Read = Callable[[], GraphQLRequest]


class Policy:
    def __init__(self, state: RegistryState, *, cache_size: int = CACHE_SIZE) -> None:
        self._state = state
        self._documents = DocumentCache(cache_size)

    def check(
        self, access: Access, app: str, read: Read, *, over_get: bool = False
    ) -> Operation | None:
        """The operation the request runs, once it is known to be allowed; ``None`` when
        nothing needed checking. ``read`` gives the request, only if it is needed. Raises the
        gateway's 400s, :class:`NotOverGet` (``over_get``) and :class:`RoleForbids`."""
        if access.api_user.roles is None:
            return None
        operation = self.operation(read())
        if over_get and operation.kind != "query":
            raise NotOverGet(f"{operation.kind} over GET")
        refusal = self.refused(access.api_user, app, operation)
        if refusal is not None:
            raise refusal
        return operation

    def operation(self, request: GraphQLRequest) -> Operation:
        return self._documents.operation(request.query, request.operation_name)

    def refused(self, user: ApiUserRecord, app: str, operation: Operation) -> RoleForbids | None:
        """Why the user's roles, as memory holds them now, refuse ``operation`` on ``app``."""
        permissions = self._state.permissions(user)
        if permissions is None:
            return None
        refusal = permissions.refused(app, operation.kind, operation.fields, operation.first)
        return None if refusal is None else RoleForbids(refusal.operation, refusal.field)
