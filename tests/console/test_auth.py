"""Signing in and out, sign-up, cookies and the sign-in rate limit."""

from __future__ import annotations

from http.cookies import SimpleCookie

from tenantgate.console.accounts import set_disabled
from tenantgate.console.sessions import COOKIE
from tests.console.conftest import FAILURE_LIMIT
from tests.console.visitor import PASSWORD


def cookie_flags(response, name: str) -> dict[str, object]:
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        if name in cookie:
            morsel = cookie[name]
            return {
                "httponly": bool(morsel["httponly"]),
                "secure": bool(morsel["secure"]),
                "samesite": morsel["samesite"].lower(),
                "path": morsel["path"],
            }
    raise AssertionError(f"no Set-Cookie for {name}")


async def test_the_console_asks_a_stranger_to_sign_in(visitors):
    stranger = visitors()
    response = await stranger.client.get("/console/apps")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/sign-in?next=")
    root = await stranger.client.get("/")
    assert root.headers["location"] == "/console/"


async def test_signing_in_over_https_sets_a_secure_httponly_lax_cookie(visitors, new_account):
    visitor = visitors()
    response = await visitor.sign_in(await new_account("developer"))
    assert response.status_code == 303
    assert response.headers["location"] == "/console/apps"
    flags = cookie_flags(response, COOKIE)
    assert flags == {"httponly": True, "secure": True, "samesite": "lax", "path": "/console"}
    assert response.headers["cache-control"] == "no-store"


async def test_over_plain_http_the_cookie_is_not_marked_secure(visitors, new_account):
    visitor = visitors(base_url="http://tg.example.test")
    response = await visitor.sign_in(await new_account("developer"))
    flags = cookie_flags(response, COOKIE)
    assert flags["secure"] is False
    assert flags["httponly"] is True
    assert flags["samesite"] == "lax"


async def test_pages_carry_a_strict_content_security_policy(developer):
    page = await developer.get("/console/apps")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_a_wrong_password_is_refused_without_saying_which_part_is_wrong(
    visitors, new_account
):
    email = await new_account("developer")
    visitor = visitors()
    wrong = await visitor.sign_in(email, "not the password")
    unknown = await visitors(address="198.51.100.2").sign_in("nobody@example.com", PASSWORD)
    assert wrong.status_code == unknown.status_code == 400
    assert "do not match" in wrong.text and "do not match" in unknown.text
    assert COOKIE not in wrong.headers.get("set-cookie", "")


async def test_sign_in_is_rate_limited_per_e_mail_and_per_address(visitors, new_account):
    email = await new_account("developer")
    attacker = visitors()
    for _ in range(FAILURE_LIMIT):
        assert (await attacker.sign_in(email, "guess-guess-guess")).status_code == 400
    blocked = await attacker.sign_in(email, PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1
    from_elsewhere = await visitors(address="198.51.100.9").sign_in(email, PASSWORD)
    assert from_elsewhere.status_code == 429, "the e-mail itself is limited"
    other = await new_account("developer")
    assert (await attacker.sign_in(other, PASSWORD)).status_code == 429, "so is the address"


async def test_signing_out_ends_the_session_on_the_server(developer):
    cookie = developer.client.cookies.get(COOKIE)
    response = await developer.submit("/console/sign-out")
    assert response.status_code == 303
    assert developer.page is not None and "You are signed out" in developer.page.text
    developer.client.cookies.set(COOKIE, cookie, domain="tg.example.test", path="/console")
    again = await developer.client.get("/console/apps")
    assert again.status_code == 303, "the old cookie no longer opens a session"


async def test_a_tampered_session_cookie_is_ignored(developer):
    cookie = developer.client.cookies.get(COOKIE)
    developer.client.cookies.clear()
    flipped = "A" if cookie[-5] != "A" else "B"  # inside the MAC, clear of base64's spare bits
    tampered = cookie[:-5] + flipped + cookie[-4:]
    developer.client.cookies.set(COOKIE, tampered, domain="tg.example.test")
    assert (await developer.client.get("/console/apps")).status_code == 303


async def test_disabling_an_account_ends_its_sessions(developer, services):
    from tenantgate.console.accounts import list_accounts

    account = next(a for a in await list_accounts(services) if a.email == developer.email)
    await set_disabled(services, account.id, True, "test")
    assert (await developer.client.get("/console/apps")).status_code == 303
    assert (await developer.sign_in(developer.email or "")).status_code == 400


async def test_a_developer_signs_up_when_the_operator_allows_it(visitors):
    visitor = visitors()
    await visitor.get("/console/sign-up")
    response = await visitor.submit(
        "/console/sign-up",
        {"email": "New.Dev@Example.com", "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert response.status_code == 303
    assert visitor.page is not None and "new.dev@example.com" in visitor.page.text
    assert "Register an application" in visitor.page.text
    twice = visitors(address="198.51.100.3")
    await twice.get("/console/sign-up")
    again = await twice.submit(
        "/console/sign-up",
        {"email": "new.dev@example.com", "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert again.status_code == 409


async def test_sign_up_is_closed_by_default(services, visitors):
    services.settings.console_signup = False
    visitor = visitors()
    assert (await visitor.get("/console/sign-up")).status_code == 404
    await visitor.get("/console/sign-in")
    response = await visitor.submit(
        "/console/sign-up",
        {"email": "x@example.com", "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert response.status_code == 404
