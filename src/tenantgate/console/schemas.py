"""The root fields of a tenant's app, for the role editor's field picker: read from the app's
upstream by a standard introspection query limited to the root types' fields.

The call goes through the gateway's own upstream client (``gateway.upstream``), bounded by
``TENANTGATE_UPSTREAM_TIMEOUT`` as a whole and read up to ``MAX_ANSWER`` bytes. It carries what
the gateway adds to every request that an upstream can check without a token: ``X-Tenant-Id``,
``X-Request-Id`` and ``X-Tenantgate-Gateway``. The console holds no access token, so the proof
is signed over the tenant, the app and, in place of a token id, ``console:<request id>``: a
fresh random id per call, which no token id can be (token ids carry no ``:``), so the MAC
proves "tenantgate asks, for this tenant and app" and is worth nothing as a token's proof.
An upstream that demands a bearer token refuses it; the editor then takes field names typed in.

The reference apps are such upstreams (they verify a token, then its tenant). Their schemas
are part of tenantgate, the same code wherever they are served, so for an upstream URL whose
path is ``/refapps/<name>/graphql`` (or ``/api``) of a reference app the fields are read from
that code instead of over HTTP."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

from tenantgate.gateway.errors import GatewayError, GatewayTimeout
from tenantgate.gateway.upstream import PooledUpstream, Target
from tenantgate.proof import GatewayProof

MAX_ANSWER = 1 << 20
OPERATION_TYPES = ("query", "mutation", "subscription")
QUERY = (
    "query RootFields { __schema { "
    "queryType { fields { name description } } "
    "mutationType { fields { name description } } "
    "subscriptionType { fields { name description } } } }"
)
_ROOTS = {"query": "queryType", "mutation": "mutationType", "subscription": "subscriptionType"}


class SchemaUnavailable(Exception):
    """Why the root fields could not be read, in words for the tenant admin."""


@dataclass(frozen=True)
class RootFields:
    """An app's root fields by operation type, each ``(name, description)`` in schema order;
    or, with ``problem``, why none could be read."""

    app: str
    fields: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    problem: str | None = None

    def names(self, kind: str) -> list[str]:
        return [name for name, _ in self.fields.get(kind, [])]

    @property
    def all_names(self) -> set[str]:
        return {name for kind in self.fields for name in self.names(kind)}


def root_fields(data: Any) -> dict[str, list[tuple[str, str]]]:
    """The ``data`` of an answer to :data:`QUERY`, as root fields by operation type."""
    schema = data.get("__schema") if isinstance(data, dict) else None
    if not isinstance(schema, dict):
        raise SchemaUnavailable("its answer is not an introspection result")
    found: dict[str, list[tuple[str, str]]] = {}
    for kind, key in _ROOTS.items():
        root = schema.get(key)
        fields = root.get("fields") if isinstance(root, dict) else None
        found[kind] = [
            (str(f["name"]), str(f.get("description") or ""))
            for f in fields or []
            if isinstance(f, dict) and isinstance(f.get("name"), str)
        ]
    return found


class SchemaReader:
    """Reads root fields with a proof under ``proof`` and waits at most ``timeout`` seconds."""

    def __init__(self, proof: GatewayProof, timeout: float) -> None:
        self._proof = proof
        self._timeout = timeout

    async def read(self, tenant_id: str, app: str, graphql_url: str) -> RootFields:
        try:
            local = _refapp_fields(graphql_url)
            if local is not None:
                return RootFields(app, local)
            async with asyncio.timeout(self._timeout):
                return RootFields(app, await self._ask(tenant_id, app, graphql_url))
        except SchemaUnavailable as problem:
            return RootFields(app, problem=f"The upstream of {app} {problem}.")
        except TimeoutError:
            return RootFields(
                app, problem=f"The upstream of {app} did not answer within {self._timeout:g} s."
            )

    async def read_all(self, tenant_id: str, apps: dict[str, str]) -> dict[str, RootFields]:
        """Every app's fields at once: the page waits for the slowest upstream only."""
        found = await asyncio.gather(*(self.read(tenant_id, app, url) for app, url in apps.items()))
        return {fields.app: fields for fields in found}

    async def _ask(self, tenant_id: str, app: str, graphql_url: str) -> dict[str, Any]:
        upstream = PooledUpstream(self._timeout)
        request_id = secrets.token_hex(16)
        proof = self._proof.sign(tenant_id, app, f"console:{request_id}")
        body = orjson.dumps({"query": QUERY, "operationName": "RootFields"})
        try:
            target = Target.parse(graphql_url)
            headers = [
                (b"host", target.authority),
                (b"content-type", b"application/json"),
                (b"accept", b"application/json"),
                (b"x-tenant-id", tenant_id.encode()),
                (b"x-request-id", request_id.encode()),
                (b"x-tenantgate-gateway", proof.encode()),
                (b"content-length", str(len(body)).encode()),
            ]
            response = await upstream.send(b"POST", target, target.path, headers, body)
            try:
                answer = await _bounded(response.chunks())
            finally:
                await response.aclose()
        except GatewayTimeout:
            raise TimeoutError from None
        except GatewayError:
            raise SchemaUnavailable("cannot be reached") from None
        finally:
            await upstream.aclose()
        if response.status != 200:
            raise SchemaUnavailable(f"refused to describe its schema (HTTP {response.status})")
        return root_fields(_data(answer))


async def _bounded(chunks: Any) -> bytes:
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > MAX_ANSWER:
            raise SchemaUnavailable(f"answered more than {MAX_ANSWER} bytes")
        parts.append(chunk)
    return b"".join(parts)


def _data(answer: bytes) -> Any:
    try:
        document = orjson.loads(answer)
    except orjson.JSONDecodeError:
        raise SchemaUnavailable("did not answer JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        raise SchemaUnavailable("did not answer the introspection query")
    return document["data"]


def _refapp_fields(graphql_url: str) -> dict[str, list[tuple[str, str]]] | None:
    from tenantgate.refapps import REFAPPS

    try:
        parts = urlsplit(graphql_url).path.strip("/").split("/")
    except ValueError:
        return None
    if len(parts) != 3 or parts[0] != "refapps" or parts[2] not in ("graphql", "api"):
        return None
    kind = REFAPPS.get(parts[1])
    if kind is None:
        return None
    result = kind.build_schema().execute_sync(QUERY)
    return root_fields(result.data)
