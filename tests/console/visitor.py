"""A person in front of the console, driven over HTTP: follows pages, fills forms with the
page's CSRF token, remembers the last page."""

from __future__ import annotations

import re

import httpx

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class Visitor:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.email: str | None = None
        self.page: httpx.Response | None = None

    async def get(self, path: str, **params: str) -> httpx.Response:
        self.page = await self.client.get(path, params=params or None)
        return self.page

    async def submit(self, path: str, data: dict[str, object] | None = None) -> httpx.Response:
        """POST a form with the CSRF token of the last page (fetching one if needed)."""
        if self.page is None or not CSRF.search(self.page.text):
            await self.get("/console/sign-in" if self.email is None else "/console/")
            if self.page is not None and self.page.status_code == 303:
                await self.get(self.page.headers["location"])
        assert self.page is not None
        form = {"csrf_token": csrf_token(self.page.text), **(data or {})}
        response = await self.client.post(path, data=form)
        if response.status_code == 303:
            location = response.headers["location"]
            self.page = await self.client.get(location, follow_redirects=True)
        else:
            self.page = response
        return response

    async def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/console/sign-in")
        response = await self.submit("/console/sign-in", {"email": email, "password": password})
        if response.status_code == 303:
            self.email = email
        return response
