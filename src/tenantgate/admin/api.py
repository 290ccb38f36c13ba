"""The admin API, ``/admin/v1``: what operators, developers' tooling and tenant admins script
against. Every route needs ``Authorization: Bearer <admin token>``, checked before the body is
read by :class:`tenantgate.admin.edge.AdminEdge`, which the server mounts in front of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from tenantgate.admin import schemas as s
from tenantgate.admin.apply import apply_routes
from tenantgate.admin.usage import usage_routes
from tenantgate.asynccontext.store import CONTEXT_ID
from tenantgate.http import JSONResponse, request_base_url
from tenantgate.registry import rules
from tenantgate.registry.errors import NotFound, RegistryError
from tenantgate.registry.limits import query_limits
from tenantgate.registry.paging import DEFAULT_LIMIT, MAX_CURSOR, MAX_LIMIT, Page
from tenantgate.services import Services
from tenantgate.settings import Settings
from tenantgate.storage.database import DatabaseUnavailable

ACTOR = "admin"
AUDIT_KIND = r"^[a-z_.]{1,48}\*?$"
MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": s.ErrorOut, "description": "Invalid input (invalid_request)."},
    401: {"model": s.ErrorOut, "description": "No valid admin bearer token (invalid_token)."},
    404: {"model": s.ErrorOut, "description": "No such record (not_found)."},
    413: {"model": s.ErrorOut, "description": "The body is over TENANTGATE_MAX_BODY_BYTES."},
    503: {
        "model": s.ErrorOut,
        "description": "The database did not answer in time (temporarily_unavailable); "
        "retry after Retry-After seconds.",
    },
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": s.ErrorOut, "description": "The change conflicts with the record (conflict)."}
}
HTTP_ERROR_CODES = {404: "not_found"}
# A payload comes back as it was uploaded: its bytes, under the content type it was sent with.
PAYLOAD: dict[str, Any] = {
    "description": "The payload's bytes, with the content type it was uploaded with.",
    "content": {"*/*": {}},  # any bytes: no schema to hold them to
    "headers": {
        "X-Context-Id": {"description": "Its async context.", "schema": {"type": "string"}},
        "X-Kind": {"description": "upload or error.", "schema": {"type": "string"}},
    },
}
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1 to {MAX_LIMIT}.")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR,
        description="Where to go on: the X-Next-Cursor of the previous page (opaque).",
    ),
]
PAGE_PARAMS = ("cursor", "before_id")
PAGED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One page of the list. The next page, if there is one, is named by "
        "the two headers; on the last page neither is sent.",
        "headers": {
            "Link": {
                "description": 'The next page: `<url>; rel="next"`.',
                "schema": {"type": "string"},
            },
            "X-Next-Cursor": {
                "description": "The cursor of the next page, for `?cursor=`.",
                "schema": {"type": "string"},
            },
        },
    }
}


def error(
    status: int, code: str, description: str, headers: Mapping[str, str] | None = None
) -> Any:
    body = {"error": code, "error_description": description}
    return JSONResponse(body, status_code=status, headers=headers)


def unavailable() -> Any:
    """The database did not answer in time (or at all): retry shortly."""
    return error(
        503,
        "temporarily_unavailable",
        "The database did not answer in time; retry shortly.",
        {"Retry-After": "1"},
    )


def _docs_routes(api: FastAPI) -> None:
    """Swagger UI at ``/docs``, its script and style served from here (from the
    fastapi-swagger package) rather than from a CDN: the page works on a machine that cannot
    reach the internet, and no third party learns who reads the admin API."""
    api.mount("/docs-assets", StaticFiles(packages=[("fastapi_swagger", "resources")]))

    @api.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + "/openapi.json",
            title="tenantgate admin API",
            swagger_js_url=root + "/docs-assets/swagger-ui-bundle.js",
            swagger_css_url=root + "/docs-assets/swagger-ui.css",
            swagger_favicon_url=root + "/docs-assets/favicon-32x32.png",
        )


def create_admin_api(services: Services) -> FastAPI:
    api = FastAPI(
        title="tenantgate admin API",
        version="1",
        description="Register applications, create tenants and their apps, accept applications "
        "for a tenant (API users), read the audit trail.",
        docs_url=None,
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    _docs_routes(api)
    router = APIRouter(responses=ERRORS)

    @api.exception_handler(RegistryError)
    async def _registry_error(_request: Request, exc: Exception) -> Any:
        assert isinstance(exc, RegistryError)
        return error(exc.status_code, exc.code, exc.description)

    @api.exception_handler(DatabaseUnavailable)
    async def _unavailable(_request: Request, _exc: Exception) -> Any:
        return unavailable()

    @api.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: Exception) -> Any:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error(400, "invalid_request", f"{where}: {first.get('msg', 'invalid input')}")

    @api.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: Exception) -> Any:
        """The router's own answers (no such path, a method the path does not have) in the
        admin error shape, with their headers; a 405's ``Allow`` names the methods of every
        route on the path (the router names only those of the first route it found)."""
        assert isinstance(exc, StarletteHTTPException)
        code = HTTP_ERROR_CODES.get(exc.status_code, "invalid_request")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(sorted(_allowed_methods(router, request.scope)))
        return error(exc.status_code, code, str(exc.detail), headers)

    _application_routes(router, services)
    _tenant_routes(router, services)
    _api_user_routes(router, services)
    _role_routes(router, services)
    _audit_routes(router, services)
    _async_context_routes(router, services)
    apply_routes(api, router, services)
    usage_routes(router, services)
    api.include_router(router)
    return api


def _allowed_methods(router: APIRouter, scope: Scope) -> set[str]:
    methods: set[str] = set()
    for route in router.routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return methods


def paged(request: Request, settings: Settings, page: Page[Any]) -> Response:
    """A page of a list. The body stays the JSON list of its items, as it was before lists
    paged, so a caller that reads only the body keeps working; the way on is in ``Link``
    (RFC 8288) and ``X-Next-Cursor``. The items are dataclasses, which orjson writes as they
    are: no per-item model validation on the event loop."""
    headers = {}
    if page.next_cursor is not None:
        url = _next_url(request, settings, page.next_cursor)
        headers = {"Link": f'<{url}>; rel="next"', "X-Next-Cursor": page.next_cursor}
    return JSONResponse(page.items, headers=headers)


def _next_url(request: Request, settings: Settings, cursor: str) -> str:
    """The same request with the next cursor (a cursor replaces ``before_id``)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in PAGE_PARAMS]
    query = urlencode([*kept, ("cursor", cursor)])
    return f"{request_base_url(request, settings)}{request.url.path}?{query}"


def _epoch(at: datetime | None) -> float | None:
    """A time without an offset is UTC, like every time this API answers."""
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def _application_routes(router: APIRouter, services: Services) -> None:
    registry = services.registry

    @router.post(
        "/applications", status_code=201, response_model=s.ApplicationCreated, tags=["applications"]
    )
    async def create_application(body: s.ApplicationIn) -> Any:
        view, secret = await registry.create_application(
            body.name,
            ACTOR,
            owner=body.owner,
            owner_account_id=body.owner_account_id,
            secret_expires_in_days=body.secret_expires_in_days,
        )
        return {
            **asdict(view),
            "client_secret": secret.client_secret,
            "secret_id": secret.secret_id,
            "secret_expires_at": secret.expires_at,
        }

    @router.get(
        "/applications",
        response_model=list[s.ApplicationOut],
        tags=["applications"],
        responses=PAGED,
    )
    async def list_applications(
        request: Request,
        owner: str | None = Query(
            None,
            max_length=320,
            pattern=r"^[^\x00-\x1f\x7f]*$",
            description="Only applications with this contact label.",
        ),
        owner_account_id: int | None = Query(
            None, ge=1, le=MAX_ID, description="Only applications this console account owns."
        ),
        expiring_within_days: int | None = Query(
            None,
            ge=0,
            le=s.MAX_SECRET_DAYS,
            description="Only applications with an unretired secret that expires within this "
            "many days, or has expired (0: expired only).",
        ),
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Any:
        page = await registry.list_applications(
            owner,
            owner_account_id=owner_account_id,
            expiring_within_days=expiring_within_days,
            cursor=cursor,
            limit=limit,
        )
        return paged(request, services.settings, page)

    @router.get(
        "/applications/{application_id}", response_model=s.ApplicationOut, tags=["applications"]
    )
    async def get_application(application_id: str) -> Any:
        return asdict(await registry.get_application(application_id))

    @router.patch(
        "/applications/{application_id}", response_model=s.ApplicationOut, tags=["applications"]
    )
    async def patch_application(application_id: str, body: s.ApplicationPatch) -> Any:
        if "owner_account_id" in body.model_fields_set:
            await services.ownership.assign(application_id, body.owner_account_id, ACTOR)
        if body.status is not None:
            await registry.set_application_status(application_id, body.status, ACTOR)
        return asdict(await registry.get_application(application_id))

    @router.post(
        "/applications/{application_id}/secrets",
        status_code=201,
        response_model=s.NewSecretOut,
        tags=["applications"],
        responses=CONFLICT,
    )
    async def add_secret(application_id: str, body: s.SecretIn | None = None) -> Any:
        """Rotation, step one: at most two active secrets (an expired one is not active).
        The body is optional; without one the secret gets the default lifetime."""
        days = body.expires_in_days if body is not None else None
        return asdict(await registry.add_secret(application_id, ACTOR, expires_in_days=days))

    @router.delete(
        "/applications/{application_id}/secrets/{secret_id}", status_code=204, tags=["applications"]
    )
    async def retire_secret(application_id: str, secret_id: str) -> Response:
        await registry.retire_secret(application_id, secret_id, ACTOR)
        return Response(status_code=204)


def _tenant_routes(router: APIRouter, services: Services) -> None:
    registry = services.registry

    @router.post("/tenants", status_code=201, response_model=s.TenantOut, tags=["tenants"])
    async def create_tenant(body: s.TenantIn) -> Any:
        return asdict(await registry.create_tenant(body.name, body.region, body.cluster, ACTOR))

    @router.get("/tenants", response_model=list[s.TenantOut], tags=["tenants"], responses=PAGED)
    async def list_tenants(
        request: Request, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
    ) -> Any:
        page = await registry.list_tenants(cursor=cursor, limit=limit)
        return paged(request, services.settings, page)

    @router.get("/tenants/{tenant_id}", response_model=s.TenantOut, tags=["tenants"])
    async def get_tenant(tenant_id: str) -> Any:
        return asdict(await registry.get_tenant(tenant_id))

    @router.patch("/tenants/{tenant_id}", response_model=s.TenantOut, tags=["tenants"])
    async def patch_tenant(tenant_id: str, body: s.TenantPatch) -> Any:
        view = await registry.update_tenant(tenant_id, ACTOR, **body.model_dump(exclude_none=True))
        return asdict(view)

    @router.put(
        "/tenants/{tenant_id}/apps/{app}",
        response_model=s.AppOut,
        tags=["tenants"],
        responses={201: {"model": s.AppOut}},
    )
    async def put_app(tenant_id: str, app: str, body: s.AppIn, response: Response) -> Any:
        """Replaces the app's upstream URLs and its query limits (left out: none of its own)."""
        limits = query_limits(body.limits.model_dump(exclude_none=True) if body.limits else None)
        created = await registry.put_app(
            tenant_id, app, body.graphql_url, body.websocket_url, ACTOR, limits=limits
        )
        response.status_code = 201 if created else 200
        return {
            "name": app,
            "graphql_url": body.graphql_url,
            "websocket_url": body.websocket_url,
            "limits": limits.as_json() if limits is not None else None,
        }

    @router.delete("/tenants/{tenant_id}/apps/{app}", status_code=204, tags=["tenants"])
    async def delete_app(tenant_id: str, app: str) -> Response:
        await registry.delete_app(tenant_id, app, ACTOR)
        return Response(status_code=204)


def _api_user_routes(router: APIRouter, services: Services) -> None:
    registry = services.registry

    @router.put(
        "/tenants/{tenant_id}/api-users/{application_id}",
        response_model=s.ApiUserOut,
        tags=["api users"],
        responses={201: {"model": s.ApiUserOut}},
    )
    async def put_api_user(
        tenant_id: str, application_id: str, body: s.ApiUserIn, response: Response
    ) -> Any:
        rules.application_id(application_id)
        view, created = await registry.put_api_user(
            tenant_id,
            application_id,
            ACTOR,
            first_name=body.first_name,
            last_name=body.last_name,
            enabled=body.enabled,
            apps=body.apps,
            roles=body.roles,
            rate_limit=body.rate_limit.model_dump(exclude_none=True) if body.rate_limit else None,
            daily_quota=body.daily_quota,
        )
        response.status_code = 201 if created else 200
        return asdict(view)

    @router.get(
        "/tenants/{tenant_id}/api-users",
        response_model=list[s.ApiUserOut],
        tags=["api users"],
        responses=PAGED,
    )
    async def list_api_users(
        request: Request, tenant_id: str, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
    ) -> Any:
        await registry.get_tenant(tenant_id)
        page = await registry.list_api_users(tenant_id=tenant_id, cursor=cursor, limit=limit)
        return paged(request, services.settings, page)

    @router.get(
        "/tenants/{tenant_id}/api-users/{application_id}",
        response_model=s.ApiUserOut,
        tags=["api users"],
    )
    async def get_api_user(tenant_id: str, application_id: str) -> Any:
        return asdict(await registry.get_api_user(tenant_id, application_id))

    @router.delete(
        "/tenants/{tenant_id}/api-users/{application_id}", status_code=204, tags=["api users"]
    )
    async def delete_api_user(tenant_id: str, application_id: str) -> Response:
        await registry.delete_api_user(tenant_id, application_id, ACTOR)
        return Response(status_code=204)


def _role_routes(router: APIRouter, services: Services) -> None:
    roles = services.registry.roles
    path = "/tenants/{tenant_id}/roles/{role}"

    @router.put(
        path, response_model=s.RoleOut, tags=["roles"], responses={201: {"model": s.RoleOut}}
    )
    async def put_role(tenant_id: str, role: str, body: s.RoleIn, response: Response) -> Any:
        """Create or replace a role. Every app a grant names must be one of the tenant's apps
        (400 otherwise). API users holding the role get the change at once."""
        view, created = await roles.put(
            tenant_id,
            role,
            ACTOR,
            description=body.description,
            grants=[grant.model_dump() for grant in body.grants],
        )
        response.status_code = 201 if created else 200
        return asdict(view)

    @router.get(
        "/tenants/{tenant_id}/roles",
        response_model=list[s.RoleOut],
        tags=["roles"],
        responses=PAGED,
    )
    async def list_roles(
        request: Request, tenant_id: str, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
    ) -> Any:
        page = await roles.list(tenant_id, cursor=cursor, limit=limit)
        return paged(request, services.settings, page)

    @router.get(path, response_model=s.RoleOut, tags=["roles"])
    async def get_role(tenant_id: str, role: str) -> Any:
        return asdict(await roles.get(tenant_id, role))

    @router.delete(path, status_code=204, tags=["roles"], responses=CONFLICT)
    async def delete_role(tenant_id: str, role: str) -> Response:
        """409 while an API user holds the role."""
        await roles.delete(tenant_id, role, ACTOR)
        return Response(status_code=204)


def _audit_routes(router: APIRouter, services: Services) -> None:
    @router.get("/audit", response_model=list[s.AuditOut], tags=["audit"], responses=PAGED)
    async def audit(
        request: Request,
        tenant_id: str | None = Query(None, pattern=rules.TENANT_ID.pattern),
        application_id: str | None = Query(None, pattern=rules.APPLICATION_ID.pattern),
        kind: str | None = Query(
            None,
            pattern=AUDIT_KIND,
            description="Exact kind, or a prefix ending in '*'.",
        ),
        since: datetime | None = Query(None, description="ISO 8601; without an offset, UTC."),
        until: datetime | None = Query(None, description="ISO 8601; without an offset, UTC."),
        before_id: int | None = Query(
            None,
            ge=1,
            le=MAX_ID,
            description="Start after this event (older paging; a cursor does the same).",
        ),
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Any:
        page = await services.registry.audit(
            tenant_id=tenant_id,
            application_id=application_id,
            kind=kind,
            since=_epoch(since),
            until=_epoch(until),
            before_id=before_id,
            cursor=cursor,
            limit=limit,
        )
        return paged(request, services.settings, page)


def _async_context_routes(router: APIRouter, services: Services) -> None:
    payloads = services.payloads
    assert payloads is not None

    @router.get(
        "/tenants/{tenant_id}/async-contexts",
        response_model=list[s.PayloadOut],
        tags=["async contexts"],
        responses=PAGED,
    )
    async def list_payloads(
        request: Request,
        tenant_id: str,
        context_id: str | None = Query(None, pattern=CONTEXT_ID.pattern),
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Any:
        await services.registry.get_tenant(tenant_id)
        page = await payloads.list(tenant_id, context_id, cursor=cursor, limit=limit)
        return paged(request, services.settings, page)

    @router.get(
        "/tenants/{tenant_id}/async-contexts/payloads/{payload_id}",
        tags=["async contexts"],
        response_class=Response,
        responses={200: PAYLOAD},
    )
    async def get_payload(tenant_id: str, payload_id: int) -> Response:
        if not 1 <= payload_id <= MAX_ID:
            raise NotFound("no such payload for this tenant")
        view, body = await payloads.get(tenant_id, payload_id)
        return Response(
            body,
            media_type=view.content_type,
            headers={"X-Context-Id": view.context_id, "X-Kind": view.kind},
        )
