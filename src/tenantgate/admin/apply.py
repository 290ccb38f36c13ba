"""Configuration as code over HTTP: ``GET /admin/v1/export`` and ``POST /admin/v1/apply``, the
same document, checks and plan as ``tenantgate export`` and ``apply`` (docs/gitops.md).

The body is JSON (``application/json``, read by the admin edge's JSON reader first) or YAML
(``application/yaml``), under ``TENANTGATE_MAX_BODY_BYTES``. A document with problems is
answered ``400`` with every problem (path, line for YAML, message) and nothing is written."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel, Field

from tenantgate.admin.schemas import ErrorOut
from tenantgate.http import JSONResponse
from tenantgate.registry import reconcile
from tenantgate.registry.declared import Document, InvalidDocument, Source, read_data, read_yaml
from tenantgate.services import Services

ACTOR = "admin.apply"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
SCHEMA = Document.model_json_schema(ref_template="#/components/schemas/{model}")


class ChangeOut(BaseModel):
    field: str
    from_: Any = Field(None, alias="from")
    to: Any = None


class StepOut(BaseModel):
    action: str
    kind: str
    target: str
    changes: list[ChangeOut]
    line: str


class NewApplicationSecretOut(BaseModel):
    """A secret made for an application the apply created: shown once."""

    application_id: str
    client_id: str
    name: str
    secret_id: str
    client_secret: str


class PlanOut(BaseModel):
    dry_run: bool
    steps: list[StepOut]
    summary: dict[str, int]
    applied: int
    secrets: list[NewApplicationSecretOut]


class ProblemOut(BaseModel):
    path: str
    line: int | None
    message: str


class RefusedOut(ErrorOut):
    problems: list[ProblemOut] | None = None
    plan: PlanOut | None = None


def apply_routes(api: FastAPI, router: APIRouter, services: Services) -> None:
    _document_schemas(api)

    @router.get("/export", response_model=Document, tags=["configuration"])
    async def export() -> Any:
        return JSONResponse(reconcile.export(await reconcile.read_current(services)))

    @router.post(
        "/apply",
        response_model=PlanOut,
        tags=["configuration"],
        responses={
            400: {"model": RefusedOut, "description": "The document has problems (all listed)."},
            409: {
                "model": RefusedOut,
                "description": "A step failed (answered with that step's status: 404, 409, "
                "503...); `plan` says what was applied before it and holds the new secrets.",
            },
        },
        openapi_extra={"requestBody": _BODY},
    )
    async def apply(
        request: Request,
        dry_run: bool = Query(False, description="Answer the plan and change nothing."),
        prune: bool = Query(False, description="Delete the apps and API users it omits."),
    ) -> Any:
        try:
            source = _source(request.headers.get("content-type", ""), await request.body())
            plan = reconcile.plan(
                source, await reconcile.read_current(services), ACTOR, prune=prune
            )
        except InvalidDocument as exc:
            return _refused(exc)
        if not dry_run:
            try:
                await reconcile.apply(plan, services)
            except reconcile.ApplyFailed as exc:
                body = _error(exc.code, exc.description, plan=exc.plan.as_dict(dry_run=False))
                return JSONResponse(body, status_code=exc.status_code)
        return JSONResponse(plan.as_dict(dry_run=dry_run))


def _source(content_type: str, body: bytes) -> Source:
    media = content_type.partition(";")[0].strip().lower()
    if media in YAML_TYPES:
        try:
            return read_yaml(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidDocument([_plain("the YAML body is not UTF-8")]) from None
    if not body:
        raise InvalidDocument([_plain("send the document as application/json or application/yaml")])
    try:
        return read_data(orjson.loads(body))
    except orjson.JSONDecodeError:
        raise InvalidDocument(
            [_plain("send the document as application/json or application/yaml")]
        ) from None


def _plain(message: str) -> Any:
    from tenantgate.registry.declared import Problem

    return Problem((), message)


def _refused(exc: InvalidDocument) -> Any:
    problems = [{"path": p.where, "line": p.line, "message": p.message} for p in exc.problems]
    return JSONResponse(_error("invalid_request", exc.description, problems=problems), 400)


def _error(code: str, description: str, **more: Any) -> dict[str, Any]:
    return {"error": code, "error_description": description, **more}


_BODY = {
    "required": True,
    "description": "The registry as `tenantgate export` writes it (docs/gitops.md).",
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Document"}},
        "application/yaml": {"schema": {"$ref": "#/components/schemas/Document"}},
    },
}


def _document_schemas(api: FastAPI) -> None:
    """The document's models in the OpenAPI components, where the body above refers to them
    (the route reads its body itself, so FastAPI does not know them)."""
    original = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is not None:
            return api.openapi_schema
        schema = original()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        defs = {k: v for k, v in SCHEMA.items() if k != "$defs"}
        schemas.update({**SCHEMA.get("$defs", {}), "Document": defs})
        return schema

    api.openapi = openapi  # type: ignore[method-assign]
