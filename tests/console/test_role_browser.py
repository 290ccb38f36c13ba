"""The role editor in a real browser against a real server: the operator writes a read-only
role from sdmo's own fields (one app's upstream cannot be reached, and the page says so),
gives it to an API user, and that application's mutation is refused by the gateway; deleting
the role while it is held is refused on the page. Screenshots go where test_browser's do."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.console.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    OPERATOR,
    Credentials,
    admin,
    request_token,
    screenshots,
    server,
    server_env,
    sign_in,
)

__all__ = ["screenshots", "server", "server_env"]  # the fixtures, shared with test_browser
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent"),
]


def test_a_read_only_role_written_in_the_editor_refuses_a_mutation(
    server: str, screenshots: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    tenant = admin(server, "POST", "/tenants", {"name": "Roles Inc", "region": "eu",
                                                 "cluster": "cluster-release"})  # fmt: skip
    tenant_id = str(tenant["tenant_id"])
    sdmo = "http://127.0.0.1:9/refapps/sdmo/graphql"
    admin(server, "PUT", f"/tenants/{tenant_id}/apps/sdmo", {"graphql_url": sdmo})
    erp = "http://127.0.0.1:9/graphql"
    admin(server, "PUT", f"/tenants/{tenant_id}/apps/erp", {"graphql_url": erp})
    made = admin(server, "POST", "/applications", {"name": "Stock dashboard"})
    application = Credentials(
        str(made["application_id"]), str(made["client_id"]), str(made["client_secret"])
    )
    admin(
        server,
        "PUT",
        f"/tenants/{tenant_id}/api-users/{application.application_id}",
        {"first_name": "Stock", "last_name": "Dashboard"},
    )

    console = server + "/console"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            sign_in(page, console, *OPERATOR)
            page.goto(f"{console}/tenants/{tenant_id}")
            page.get_by_role("link", name="Roles of this tenant").click()
            page.get_by_role("link", name="New role").click()
            expect(page.locator(".warning")).to_contain_text("The upstream of erp cannot")

            page.get_by_label("Role name").fill("stock-reader")
            page.get_by_label("Description (optional)").fill("Reads stock, changes nothing")
            grant = page.locator("fieldset.grant").first
            grant.get_by_label("query", exact=True).check()
            grant.get_by_label("items", exact=True).check()
            grant.get_by_label("stockLevels", exact=True).check()
            page.screenshot(path=str(screenshots / "tenant-admin-role-editor.png"), full_page=True)
            page.get_by_role("button", name="Create role").click()
            expect(page.locator(".notice")).to_contain_text("Role created.")
            expect(page.get_by_text("query: items, stockLevels")).to_be_visible()
            page.screenshot(path=str(screenshots / "tenant-admin-roles.png"), full_page=True)

            page.goto(f"{console}/tenants/{tenant_id}/api-users/{application.application_id}")
            page.get_by_label("Only what these roles allow").check()
            page.get_by_label("stock-reader").check()
            page.get_by_role("button", name="Save").click()
            expect(page.locator(".notice")).to_have_text("API user updated.")

            token = request_token(server, application, tenant_id).json()["access_token"]
            refused = httpx.post(
                f"{server}/v1/fwd/cluster-release/sdmo/api",
                headers={"Authorization": f"Bearer {token}"},
                json={"query": 'mutation { postSalesOrder(id: "so_1") { number } }'},
                timeout=10,
            )
            assert refused.status_code == 403
            assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"

            page.goto(f"{console}/tenants/{tenant_id}/roles/stock-reader/delete")
            page.get_by_role("button", name="Delete role").click()
            expect(page.locator(".error")).to_contain_text(
                f"the API user of application {application.application_id} holds this role"
            )
        finally:
            browser.close()
