"""The admin API checks the bearer before it reads a byte of the body, then reads the body once
under the size limit and through the edge's JSON reader; every answer, the router's own 405
included, is in the admin error shape. Over real HTTP (uvicorn on 127.0.0.1): what is at stake
is what the server reads off the socket, and when."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tenantgate.services import Services
from tenantgate.settings import Settings
from tests.conftest import ADMIN_TOKEN
from tests.rawhttp import exchange
from tests.websocket.conftest import serving

LIMIT = 64 * 1024
AUTH = f"Authorization: Bearer {ADMIN_TOKEN}\r\n"


@pytest.fixture
def port(settings: Settings) -> Iterator[int]:
    custom = settings.model_copy(update={"refapps": False, "max_body_bytes": LIMIT})
    with serving(custom, Services.build(custom)) as started:
        yield started


@pytest.fixture
async def http(port: int) -> AsyncIterator[httpx.AsyncClient]:
    base = f"http://127.0.0.1:{port}/admin/v1"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as client:
        yield client


def post_head(length: int, *, auth: str = "", content_type: str = "application/json") -> str:
    return (
        "POST /admin/v1/applications HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n{auth}\r\n"
    )


def assert_admin_error(content: bytes, code: str) -> dict[str, str]:
    body = json.loads(content)
    assert set(body) == {"error", "error_description"} and body["error"] == code, body
    return body


async def test_no_token_is_401_before_the_body_is_read(port):
    # 10 MB announced, 20 bytes sent: the answer comes without the server waiting for the rest.
    status, headers, content = await exchange(port, post_head(10_000_000), b'{"name": "half a bo')
    assert status == 401
    assert headers["www-authenticate"] == 'Bearer realm="tenantgate-admin"'
    assert_admin_error(content, "invalid_token")


@pytest.mark.parametrize(
    "body",
    [b"[" * 1000 + b"]" * 1000, b'{"name": ', b"\xff\xfe", b'{"name": "a", "name": "b"}'],
    ids=["1000 deep", "broken", "not UTF-8", "repeated key"],
)
async def test_no_token_is_401_whatever_the_body(port, body):
    status, _, content = await exchange(port, post_head(len(body)), body)
    assert status == 401
    assert_admin_error(content, "invalid_token")


async def owned_by(http: httpx.AsyncClient, owner: str) -> list[object]:
    return (await http.get("/applications", params={"owner": owner})).json()


async def test_a_body_over_the_limit_is_413_without_reading_it_all(port, http):
    owner = uuid.uuid4().hex
    body = json.dumps({"name": "big", "owner": owner}).encode() + b" " * LIMIT
    status, _, content = await exchange(port, post_head(10_000_000, auth=AUTH), body)
    assert status == 413
    assert str(LIMIT) in assert_admin_error(content, "invalid_request")["error_description"]
    assert await owned_by(http, owner) == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'"tags": ' + b"[" * 1000 + b"]" * 1000, "nests deeper than 64"),
        (b'"name": "b"', "more than once"),
        (b'"tags": "\xff"', "UTF-8"),
        (b'"tags": ', "not valid JSON"),
    ],
    ids=["1000 deep", "repeated key", "not UTF-8", "broken"],
)
async def test_json_bodies_go_through_the_edge_reader(http, body, says):
    owner = uuid.uuid4().hex
    full = b'{"name": "a", "owner": "%s", %s}' % (owner.encode(), body)
    response = await http.post(
        "/applications", content=full, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert says in assert_admin_error(response.content, "invalid_request")["error_description"]
    assert await owned_by(http, owner) == []


async def test_a_body_within_the_limit_still_reaches_the_api(http):
    response = await http.post("/applications", json={"name": "x" * 100})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "x" * 100


async def test_a_method_a_path_does_not_take_is_405_with_allow(http, subtests):
    for method in ("TRACE", "PUT", "DELETE"):
        response = await http.request(method, "/applications")
        with subtests.test(method=method):
            assert response.status_code == 405
            assert_admin_error(response.content, "invalid_request")
            assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}


async def test_an_unknown_admin_path_is_404_in_the_admin_shape(http):
    response = await http.get("/applicationz")
    assert response.status_code == 404
    assert_admin_error(response.content, "not_found")


async def test_the_documentation_needs_no_token(port):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/admin/v1") as anonymous:
        assert (await anonymous.get("/openapi.json")).status_code == 200
        assert (await anonymous.get("/docs")).status_code == 200
        assert (await anonymous.get("/applications")).status_code == 401


async def test_the_openapi_document_lists_what_the_edge_and_the_registry_answer(http):
    document = (await http.get("/openapi.json")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"400", "401", "413", "503"} <= statuses, (method, path, statuses)
    add_secret = document["paths"]["/applications/{application_id}/secrets"]["post"]
    assert "409" in add_secret["responses"]


@pytest.mark.parametrize(
    "authorization",
    [AUTH + "Authorization: Bearer tga_other\r\n", AUTH + AUTH, "Authorization: Bearer a b\r\n"],
    ids=["two different", "the same twice", "not a b64token"],
)
async def test_one_bearer_rule(port, authorization):
    """The rule every surface shares (tenantgate.http.bearer_token): exactly one Authorization
    header, scheme Bearer, an RFC 6750 b64token."""
    head = f"GET /admin/v1/applications HTTP/1.1\r\nHost: 127.0.0.1\r\n{authorization}\r\n"
    status, _, content = await exchange(port, head)
    assert status == 401
    assert_admin_error(content, "invalid_token")
