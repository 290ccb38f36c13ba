"""What the gateway checks in a request's GraphQL document, over HTTP and WebSocket alike: the
operation it runs, whether it is within the app's query limits, and whether the API user's
roles allow that operation on the app.

Nothing is parsed for an API user without roles calling an app without limits: its request is
forwarded as it came, and the upstream reads it. Otherwise the document's analysis comes from
the cache (:mod:`tenantgate.gateway.document`), the limits are compared with the sizes it
holds, and the roles check is a look-up of the operation's root fields in what the roles
grant, compiled once per API user (``RegistryState.permissions``). A POST body seen before is
not even read again: the operation it names is kept by the body's bytes and media type too
(bodies up to ``MAX_KEPT_BODY`` bytes, as many as documents), so that a repeated request
costs one dictionary look-up before the limits and the roles are compared.
Memory is the only source: a role, an API user or an app's limits changed on any node are
obeyed from the moment they are applied here, by new requests (``check``) and by open
subscriptions alike (``recheck``)."""

from __future__ import annotations

from collections.abc import Callable

from tenantgate.gateway.document import CACHE_SIZE, DocumentCache, Operation, Recent
from tenantgate.gateway.errors import NotOverGet, QueryTooComplex, RoleForbids
from tenantgate.gateway.request import GraphQLRequest
from tenantgate.registry.limits import QueryLimits
from tenantgate.registry.state import ApiUserRecord, AppRoute, RegistryState
from tenantgate.settings import Settings
from tenantgate.tokens.verifier import Access

Read = Callable[[], GraphQLRequest]
Source = tuple[bytes | None, bytes]
"""A POST body's media type (as given, or ``None``) and bytes."""
MAX_LIMIT_SETS = 10_000
MAX_KEPT_BODY = 2_048
_UNSEEN = QueryLimits(max_depth=-1)


def default_limits(settings: Settings) -> QueryLimits:
    return QueryLimits(
        max_depth=settings.query_max_depth,
        max_aliases=settings.query_max_aliases,
        max_root_fields=settings.query_max_root_fields,
        max_tokens=settings.query_max_tokens,
        introspection=settings.query_introspection,
    )


def node_policy(settings: Settings, state: RegistryState) -> Policy:
    """The node's policy: the operator's default limits, a document cache of the set size."""
    return Policy(state, defaults=default_limits(settings), cache_size=settings.query_cache_size)


class Policy:
    def __init__(
        self,
        state: RegistryState,
        *,
        defaults: QueryLimits | None = None,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self._state = state
        self._defaults = defaults or QueryLimits()
        self._documents = DocumentCache(cache_size)
        self._by_source: Recent[Source, Operation] = Recent(cache_size)
        self._limits: dict[QueryLimits | None, QueryLimits | None] = {}

    def check(
        self,
        access: Access,
        app: str,
        route: AppRoute,
        read: Read,
        *,
        over_get: bool = False,
        source: Source | None = None,
    ) -> Operation | None:
        """The operation the request runs, once it is known to be allowed; ``None`` when
        nothing needed checking. ``read`` gives the request, only if it is needed;
        ``source``, the media type and body it reads, lets a body seen before skip it. Raises
        the gateway's 400s (:class:`QueryTooComplex` among them), :class:`NotOverGet`
        (``over_get``) and :class:`RoleForbids`."""
        limits = self.limits(route)
        if limits is None and access.api_user.roles is None:
            return None
        if source is not None and len(source[1]) <= MAX_KEPT_BODY:
            operation = self._kept(source, read, limits)
        else:
            operation = self._operation(read(), limits)
        if over_get and operation.kind != "query":
            raise NotOverGet(f"{operation.kind} over GET")
        self._allow(access.api_user, app, limits, operation)
        return operation

    def recheck(
        self, user: ApiUserRecord, app: str, route: AppRoute, read: Read, known: Operation | None
    ) -> Operation | None:
        """``check`` again for an operation that is running (a subscription), against the
        app's limits and the user's roles as memory holds them now: the operation, read with
        ``read`` only if ``known`` is ``None`` (nothing needed checking before) and something
        does now. Raises as ``check`` does."""
        limits = self.limits(route)
        if limits is None and user.roles is None:
            return known
        operation = known if known is not None else self._operation(read(), limits)
        self._allow(user, app, limits, operation)
        return operation

    def limits(self, route: AppRoute) -> QueryLimits | None:
        """The app's limits over the defaults, or ``None`` if none can refuse anything; worked
        out once for each set of an app's own limits."""
        own = route.limits
        found = self._limits.get(own, _UNSEEN)
        if found is _UNSEEN:
            effective = (own or QueryLimits()).over(self._defaults)
            found = effective if effective.enforced else None
            if len(self._limits) >= MAX_LIMIT_SETS:
                self._limits.clear()
            self._limits[own] = found
        return found

    def _kept(self, source: Source, read: Read, limits: QueryLimits | None) -> Operation:
        """The operation of a body read before (the same bytes always read the same), or
        read now and kept; what fails to read is not kept."""
        operation = self._by_source.get(source)
        if operation is None:
            operation = self._operation(read(), limits)
            self._by_source.put(source, operation)
        return operation

    def _operation(self, request: GraphQLRequest, limits: QueryLimits | None) -> Operation:
        max_tokens = limits.max_tokens if limits is not None else None
        return self._documents.operation(request.query, request.operation_name, max_tokens)

    def _allow(
        self, user: ApiUserRecord, app: str, limits: QueryLimits | None, operation: Operation
    ) -> None:
        """Raises :class:`QueryTooComplex` for the first limit ``operation`` is over, then
        :class:`RoleForbids` if the user's roles, as memory holds them now, refuse it."""
        if limits is not None:
            _within(operation, limits)
        permissions = self._state.permissions(user)
        if permissions is None:
            return
        refusal = permissions.refused(app, operation.kind, operation.fields, operation.first)
        if refusal is not None:
            raise RoleForbids(refusal.operation, refusal.field)


def _within(operation: Operation, limits: QueryLimits) -> None:
    """Raises :class:`QueryTooComplex` for the first limit the operation is over."""
    for name, size in (
        ("max_tokens", operation.tokens),
        ("max_depth", operation.depth),
        ("max_aliases", operation.aliases),
        ("max_root_fields", operation.root_fields),
    ):
        limit = getattr(limits, name)
        if limit is not None and size > limit:
            raise QueryTooComplex(name, limit)
    if operation.introspection is not None and limits.introspection is False:
        raise QueryTooComplex("introspection", False)
