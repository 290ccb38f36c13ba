"""A console form is read by the one body reader under the console's limit: a larger one is a
413 page, before anything is parsed or changed."""

from __future__ import annotations

from tenantgate.console.web import MAX_FORM_BYTES


async def test_a_form_over_the_limit_is_a_413_page_and_changes_nothing(
    developer, services, account_id
):
    mine = await account_id(developer.email)
    before = len((await services.registry.list_applications(owner_account_id=mine)).items)
    await developer.get("/console/apps")
    response = await developer.submit(
        "/console/apps", {"name": "Too big", "padding": "x" * MAX_FORM_BYTES}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert f"larger than {MAX_FORM_BYTES} bytes" in response.text
    assert len((await services.registry.list_applications(owner_account_id=mine)).items) == before


async def test_a_form_within_the_limit_is_read_as_before(developer, services, account_id):
    mine = await account_id(developer.email)
    await developer.get("/console/apps")
    response = await developer.submit("/console/apps", {"name": "Just right"})
    assert response.status_code in (200, 303), response.text
    names = [
        a.name for a in (await services.registry.list_applications(owner_account_id=mine)).items
    ]
    assert "Just right" in names
