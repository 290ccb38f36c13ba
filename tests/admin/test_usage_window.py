"""A usage window the database cannot hold is a 400, not a 500: minutes are 32-bit integers
in PostgreSQL, and ISO 8601 goes on to the year 9999. (Found by Schemathesis, tests/schema.)"""

from __future__ import annotations

from tests.tokens.calls import assert_oauth_error


async def test_a_window_past_what_minutes_can_hold_is_invalid_request(client, admin_headers):
    params = {"step": "day", "until": "6053-02-01T00:00:00Z"}
    response = await client.get("/admin/v1/usage", params=params, headers=admin_headers)

    assert_oauth_error(response, 400, "invalid_request")


async def test_the_last_window_that_fits_is_served(client, admin_headers):
    params = {"step": "day", "until": "6053-01-22T00:00:00Z"}
    response = await client.get("/admin/v1/usage", params=params, headers=admin_headers)

    assert response.status_code == 200, response.text
