"""The whole console story in a real browser against a real server: an operator sets up a
tenant, a developer signs up and registers an application, a tenant admin lets it in for one
app, the application gets a token that the gateway honours, and when the tenant admin disables
the API user that same token is refused; and an API user's limits, once set on its page, are
drawn across its usage charts. Screenshots of the main pages go to a temporary folder, or to
$TENANTGATE_SCREENSHOT_DIR; refresh the guide's pictures with

    TENANTGATE_SCREENSHOT_DIR=docs/screenshots python -m pytest tests/console/test_browser.py
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tenantgate.console.accounts import create_account
from tenantgate.services import Services
from tenantgate.settings import Settings
from tenantgate.storage.usage import UsageTally

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_TOKEN = "tga_browser-test-admin-token"
OPERATOR = ("ops@example.com", "operator password 1")
DEVELOPER = ("dev@example.com", "developer password 1")
TENANT_ADMIN = ("admin@acme.example", "tenant admin password 1")
DAY = 86400
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is absent (apt-get install chromium); Playwright must not "
        "download a browser of its own",
    ),
]


class _Upstream(BaseHTTPRequestHandler):
    """A GraphQL upstream that answers with the tenant the gateway said the call is for."""

    seen: list[dict[str, str]] = []  # noqa: RUF012

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {k.lower(): v for k, v in self.headers.items()}
        type(self).seen.append(headers)
        body = json.dumps({"data": {"tenant": headers.get("x-tenant-id")}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _in_a_thread(coroutine_function, *args):  # type: ignore[no-untyped-def]
    """Run a coroutine on a loop of its own, away from the test session's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine_function(*args)).result()


def _settings(env: dict[str, str]) -> Settings:
    return Settings(**{key[len("TENANTGATE_") :].lower(): v for key, v in env.items()})


async def _create_operator(env: dict[str, str]) -> None:
    services = Services.build(_settings(env))
    await services.open(background=False)
    try:
        await create_account(services, *OPERATOR, "operator", [])
    finally:
        await services.close()


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The server's settings, which a test may also open its database with."""
    data = tmp_path_factory.mktemp("browser")
    return {
        "TENANTGATE_DATABASE_URL": f"sqlite+aiosqlite:///{data}/tenantgate.db",
        "TENANTGATE_DATA_DIR": str(data),
        "TENANTGATE_SECRET_KEY": "browser-test-server-secret",
        "TENANTGATE_ADMIN_TOKEN": ADMIN_TOKEN,
        "TENANTGATE_CONSOLE_SIGNUP": "true",
        "TENANTGATE_REFAPPS": "false",
    }


@pytest.fixture(scope="module")
def server(server_env: dict[str, str]) -> Iterator[str]:
    env = server_env
    _in_a_thread(_create_operator, env)
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tenantgate.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"the server exited: {error[-2000:]}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start within 30 seconds")


@dataclass
class Credentials:
    application_id: str
    client_id: str
    client_secret: str


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("TENANTGATE_SCREENSHOT_DIR")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_whole_story_in_a_browser(server: str, upstream: str, screenshots: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    def shot(page, name: str, full_page: bool = True) -> None:  # type: ignore[no-untyped-def]
        page.screenshot(path=str(screenshots / f"{name}.png"), full_page=full_page)

    console = server + "/console"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            laptop = {"viewport": {"width": 1280, "height": 860}}
            ops = browser.new_context(**laptop).new_page()
            dev_context = browser.new_context(
                **laptop, permissions=["clipboard-read", "clipboard-write"]
            )
            dev = dev_context.new_page()
            admin = browser.new_context(**laptop).new_page()
            phone = browser.new_context(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
            ).new_page()

            # The operator signs in and sets up a tenant with an app behind the gateway.
            sign_in(ops, console, *OPERATOR)
            expect(ops.get_by_role("heading", name="Overview")).to_be_visible()
            ops.get_by_role("link", name="Tenants").click()
            ops.get_by_label("Name").fill("Acme Manufacturing")
            ops.get_by_role("button", name="Create tenant").click()
            expect(ops.locator(".notice")).to_have_text("Tenant created.")
            tenant_id = ops.locator("#tenant-id").inner_text()
            for app in ("sdmo", "shopfloor"):
                ops.get_by_label("App name").fill(app)
                ops.get_by_label("Upstream GraphQL URL").fill(f"{upstream}/{app}/graphql")
                ops.get_by_role("button", name="Save app").click()
                expect(ops.locator(".notice")).to_have_text("App saved.")
            shot(ops, "operator-tenant")

            # … and gives the customer's administrator an account for that tenant.
            ops.get_by_role("link", name="Accounts").click()
            ops.get_by_label("E-mail").fill(TENANT_ADMIN[0])
            ops.get_by_label("Initial password").fill(TENANT_ADMIN[1])
            ops.get_by_label("Role").select_option("tenant_admin")
            ops.get_by_label(re.compile("Acme Manufacturing")).check()
            ops.get_by_role("button", name="Create account").click()
            expect(ops.locator(".notice")).to_have_text("Account created.")
            shot(ops, "operator-accounts")

            # A developer signs up and registers an application.
            dev.goto(console + "/sign-in")
            dev.get_by_role("link", name="Sign up").click()
            dev.get_by_label("E-mail").fill(DEVELOPER[0])
            dev.get_by_label("Password", exact=True).fill(DEVELOPER[1])
            dev.get_by_label("Password, again").fill(DEVELOPER[1])
            dev.get_by_role("button", name="Create account").click()
            expect(dev.get_by_role("heading", name="My applications")).to_be_visible()
            dev.get_by_label("Application name").fill("Acme invoicing sync")
            dev.get_by_role("button", name="Register").click()
            expect(dev.get_by_role("heading", name="Copy the client secret now")).to_be_visible()
            credentials = Credentials(
                dev.locator("#application-id").inner_text(),
                dev.locator("#client-id").inner_text(),
                dev.locator("#client-secret").inner_text(),
            )
            assert credentials.client_secret.startswith("tgs_")
            dev.get_by_role("button", name="Copy client secret").click()
            expect(dev.locator(".copy-status")).to_have_text("Copied to the clipboard.")
            assert dev.evaluate("navigator.clipboard.readText()") == credentials.client_secret
            masked(dev, "#client-secret", lambda: shot(dev, "developer-secret-once"))
            dev.get_by_role("link", name=re.compile("I have stored the secret")).click()
            assert credentials.client_secret not in dev.content()

            # The tenant admin lets the application in, for the sdmo app only.
            sign_in(admin, console, *TENANT_ADMIN)
            expect(
                admin.get_by_role("heading", name=re.compile("Acme Manufacturing"))
            ).to_be_visible()
            admin.get_by_label("Application id").fill(credentials.application_id)
            admin.get_by_role("button", name="Look up").click()
            expect(
                admin.get_by_role("heading", name=re.compile("Acme invoicing sync"))
            ).to_be_visible()
            expect(admin.get_by_label("API-user e-mail")).to_have_value(
                re.compile(rf"^{credentials.application_id}@")
            )
            admin.get_by_label("Only these:").check()
            admin.get_by_label("sdmo").check()
            shot(admin, "tenant-admin-accept")
            admin.get_by_role("button", name="Create API user").click()
            expect(admin.locator(".notice")).to_contain_text("API user created")

            # The application gets a token and reaches its app through the gateway.
            issued = request_token(server, credentials, tenant_id)
            assert issued.status_code == 200, issued.text
            body = issued.json()
            assert list(body["urls"]["apps"]) == ["sdmo"]
            graphql = body["urls"]["apps"]["sdmo"]["graphQL"]
            bearer = {"Authorization": f"Bearer {body['access_token']}"}
            answer = httpx.post(graphql, json={"query": "{ tenant }"}, headers=bearer)
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"data": {"tenant": tenant_id}}
            assert _Upstream.seen[-1]["x-application-id"] == credentials.application_id

            admin.goto(f"{console}/tenants/{tenant_id}")
            expect(admin.get_by_role("link", name=re.compile("On: disable"))).to_be_visible()
            shot(admin, "tenant-admin-api-users")

            # The developer sees the acceptance and the exact token request.
            dev.reload()
            expect(dev.get_by_role("heading", name="How to get a token")).to_be_visible()
            expect(dev.locator("#token-curl")).to_contain_text(f"scope=tenantid:{tenant_id}")
            assert credentials.client_secret not in dev.content()
            shot(dev, "developer-application")
            sign_in(phone, console, *DEVELOPER)
            phone.goto(f"{console}/apps/{credentials.application_id}")
            shot(phone, "developer-application-phone", full_page=False)

            # The tenant admin disables the API user (with a confirm step) …
            admin.get_by_role("link", name=re.compile("On: disable")).click()
            expect(
                admin.get_by_role("heading", name=re.compile("Disable the API user"))
            ).to_be_visible()
            admin.get_by_role("button", name="Disable API user").click()
            expect(admin.locator(".notice")).to_contain_text("API user disabled")

            # … and the very same token is refused at once, everywhere.
            assert introspect(server, body["access_token"]) == {"active": False}
            refused = httpx.post(graphql, json={"query": "{ tenant }"}, headers=bearer)
            assert refused.status_code in (401, 403)
            assert request_token(server, credentials, tenant_id).status_code == 403

            # The operator sees it all in the audit trail and the live view.
            ops.get_by_role("link", name="Audit").click()
            ops.get_by_label("Kind").select_option("api_user.*")
            ops.get_by_role("button", name="Filter").click()
            expect(ops.locator("table.audit")).to_contain_text("api_user.disabled")
            expect(ops.locator("table.audit")).to_contain_text(f"console:{TENANT_ADMIN[0]}")
            shot(ops, "operator-audit")
            ops.get_by_role("link", name="Overview").click()
            expect(ops.locator("#token-chart figcaption")).to_contain_text("Issued: 1")
            expect(ops.locator("#token-chart figcaption")).to_contain_text("Refused: 1")
            shot(ops, "operator-overview")
            sign_out = ops.get_by_role("button", name="Sign out")
            sign_out.click()
            expect(ops.locator(".notice")).to_have_text("You are signed out.")
            shot(ops, "sign-in")
        finally:
            browser.close()


async def _record_usage(
    env: dict[str, str], tenant_id: str, application_id: str, traffic: list[tuple[int, int, int]]
) -> None:
    """Gateway traffic of ``seconds`` ago, ``(seconds, answered, refused)``, counted and written
    as a node does."""
    services = Services.build(_settings(env))
    await services.open(background=False)
    try:
        for seconds, answered, refused in traffic:
            tally = UsageTally(services.batch, lambda at=time.time() - seconds: at)
            for _ in range(answered):
                tally.record(tenant_id, application_id, "sdmo", 200, None, 0.01)
            for _ in range(refused):
                tally.record(tenant_id, application_id, "sdmo", 429, "RATE_LIMITED", 0.0)
            tally.flush(everything=True)
    finally:
        await services.close()  # writes what the tallies handed over


def test_the_limits_are_drawn_across_the_usage_charts(
    server: str, server_env: dict[str, str], screenshots: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    where = {"name": "Quota Works", "region": "eu", "cluster": "cluster-usage"}
    tenant_id = str(admin(server, "POST", "/tenants", where)["tenant_id"])
    admin(server, "PUT", f"/tenants/{tenant_id}/apps/sdmo", {"graphql_url": "http://127.0.0.1:9/"})
    made = admin(server, "POST", "/applications", {"name": "Shift sync"})
    application_id = str(made["application_id"])
    user = f"/tenants/{tenant_id}/api-users/{application_id}"
    admin(server, "PUT", user, {"first_name": "Shift", "last_name": "Sync"})
    traffic = [(3 * DAY, 30, 0), (DAY, 42, 6), (600, 12, 2)]
    _in_a_thread(_record_usage, server_env, tenant_id, application_id, traffic)

    console = server + "/console"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            sign_in(page, console, *OPERATOR)

            # The operator sets the API user's rate limit and daily quota on its page …
            page.goto(console + user)
            page.get_by_label("Requests a minute").fill("20")
            page.get_by_label("Requests a day (UTC)").fill("60")
            page.get_by_role("button", name="Save").click()
            expect(page.locator(".notice")).to_have_text("API user updated.")

            # … and sees each drawn across the tenant's charts of it, at its height.
            page.goto(f"{console}/tenants/{tenant_id}")
            page.locator("#usage-link").click()
            minute, day = page.locator("figure.per-minute"), page.locator("figure.per-day")
            expect(minute.locator(".limit-label")).to_have_text("rate limit 20")
            expect(minute.locator(".limit-label")).to_be_visible()
            expect(day.locator(".limit-label")).to_have_text("daily quota 60")
            expect(day.locator(".limit-label")).to_be_visible()
            expect(day.locator(".limit-key")).to_have_text("Daily quota: 60 a day")
            expect(day.locator("g.limit-line > title")).to_have_text(
                "Daily quota: 60 requests a day"
            )
            expect(day.get_by_role("img", name=re.compile("daily quota: 60 a day"))).to_be_visible()
            assert drawn_at(minute) == pytest.approx(20, rel=0.03)
            assert drawn_at(day) == pytest.approx(60, rel=0.03)
            page.screenshot(path=str(screenshots / "usage-limits.png"), full_page=True)
        finally:
            browser.close()


def drawn_at(figure) -> float:  # type: ignore[no-untyped-def]
    """The count a chart's limit line stands at, read off the scale as the browser drew it."""
    name = figure.locator("svg").get_attribute("aria-label")
    peak = int(re.search(r"the scale reaches ([\d,]+)", name).group(1).replace(",", ""))  # type: ignore[union-attr]
    axis, grid, limit = (
        figure.locator(f"line.{c}").bounding_box() for c in ("axis", "grid", "limit")
    )
    assert limit is not None and axis is not None and grid is not None
    assert limit["width"] == pytest.approx(axis["width"], rel=0.01)  # across the whole plot

    def middle(box) -> float:  # type: ignore[no-untyped-def]
        return float(box["y"] + box["height"] / 2)

    return (middle(axis) - middle(limit)) / (middle(axis) - middle(grid)) * peak


def sign_in(page, console: str, email: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(console + "/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def masked(page, selector: str, take) -> None:  # type: ignore[no-untyped-def]
    """Screenshots never carry a secret, not even a test one."""
    original = page.locator(selector).inner_text()
    page.locator(selector).evaluate("(node) => { node.textContent = 'tgs_' + '•'.repeat(43); }")
    take()
    page.locator(selector).evaluate("(node, text) => { node.textContent = text; }", original)


def request_token(server: str, credentials: Credentials, tenant_id: str) -> httpx.Response:
    return httpx.post(
        server + "/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "scope": f"tenantid:{tenant_id}",
        },
    )


def admin(server: str, method: str, path: str, body: dict[str, object]) -> dict[str, object]:
    answer = httpx.request(
        method,
        f"{server}/admin/v1{path}",
        json=body,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


def introspect(server: str, token: str) -> dict[str, object]:
    response = httpx.post(
        server + "/v1/token/introspect",
        data={"token": token},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 200
    return response.json()
