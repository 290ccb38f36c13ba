from __future__ import annotations

from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tenantgate.cli import refapp as cli
from tenantgate.refapps import app as refapp_module
from tenantgate.refapps import create_refapp
from tenantgate.refapps.sdmo.store import SdmoStore

from .conftest import Issuer, auth_headers


async def test_unknown_app_names_are_refused(verifier: Any) -> None:
    with pytest.raises(ValueError, match="unknown reference app"):
        create_refapp("ledger", verifier)


async def test_health_needs_no_token(sdmo: httpx.AsyncClient) -> None:
    response = await sdmo.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "app": "sdmo"}


async def test_api_is_an_alias_of_graphql(shopfloor: httpx.AsyncClient, issuer: Issuer) -> None:
    query = {"query": "{ workOrders(first: 2) { totalCount } }"}
    headers = auth_headers(issuer.token())

    via_graphql = await shopfloor.post("/graphql", json=query, headers=headers)
    via_api = await shopfloor.post("/api", json=query, headers=headers)

    assert via_api.status_code == via_graphql.status_code == 200
    assert via_api.json() == via_graphql.json()


async def test_browsers_get_a_self_contained_explorer(sdmo: httpx.AsyncClient) -> None:
    response = await sdmo.get("/graphql", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "sdmo" in response.text and "X-Tenant-Id" in response.text
    assert "https://" not in response.text
    assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_invalid_json_is_a_graphql_shaped_400(
    sdmo: httpx.AsyncClient, issuer: Issuer
) -> None:
    headers = {**auth_headers(issuer.token()), "content-type": "application/json"}

    response = await sdmo.post("/graphql", content=b"{not json", headers=headers)

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_unexpected_failures_are_masked(
    sdmo: httpx.AsyncClient, issuer: Issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*args: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(SdmoStore, "sites", explode)
    response = await sdmo.post(
        "/graphql", json={"query": "{ sites { id } }"}, headers=auth_headers(issuer.token())
    )

    assert "hunter2" not in response.text
    assert response.json()["errors"][0]["message"] == "Unexpected error."
    assert response.json()["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}


def test_the_cli_serves_with_options_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(refapp_module, "serve", lambda *args: calls.append(args))
    monkeypatch.setenv("TENANTGATE_REFAPP_JWKS_URL", "http://gw/.well-known/jwks.json")

    runner = CliRunner()
    sdmo = runner.invoke(cli.app, ["serve", "sdmo", "--issuer", "http://gw"])
    shopfloor = runner.invoke(cli.app, ["serve", "shopfloor", "--port", "9000", "--host", "::"])

    assert sdmo.exit_code == 0 and shopfloor.exit_code == 0, sdmo.output + shopfloor.output
    assert calls == [
        ("sdmo", "127.0.0.1", 8101, "http://gw/.well-known/jwks.json", "tenantgate", "http://gw"),
        ("shopfloor", "::", 9000, "http://gw/.well-known/jwks.json", "tenantgate", None),
    ]


def test_the_cli_refuses_unknown_apps_and_a_missing_jwks_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(refapp_module, "serve", lambda *args: pytest.fail("must not serve"))
    monkeypatch.delenv("TENANTGATE_REFAPP_JWKS_URL", raising=False)
    runner = CliRunner()

    unknown = runner.invoke(cli.app, ["serve", "ledger", "--jwks-url", "http://gw/jwks"])
    no_jwks = runner.invoke(cli.app, ["serve", "sdmo"])

    assert unknown.exit_code == 2
    assert no_jwks.exit_code == 2
