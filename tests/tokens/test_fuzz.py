"""Whatever arrives at POST /v1/token, the answer is never a 5xx, and every refusal is
RFC 6749 §5.2 JSON."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories as f

ERRORS = {
    "invalid_request",
    "invalid_client",
    "access_denied",
    "unsupported_grant_type",
    "invalid_scope",
    "slow_down",
}
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "application/json",
    "application/json; charset=latin-1",
    "text/plain",
    "multipart/form-data; boundary=xyz",
    "",
]
JSON_PIECES = ['{"clientId":', '"\\ud800"', '"\\u0000"', "[", "]", "}", ",", "1e999"]
NASTY = ["", "\x00", "\ud800", "\t", "tenantid:", "%00", "=&=", "é" * 80]

header_bytes = st.binary(max_size=80).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@pytest.fixture
async def target(server):
    """A node that does not rate-limit, so that every example goes as deep as it can."""
    _services, client = await server(failure_limit=1_000_000)
    return client, await f.accepted_setup(client)


def mutations(setup: f.Setup) -> dict[str, tuple[list[tuple[bytes, bytes]], bytes]]:
    """Every nasty value in every field of a valid request, in each format: 3 x 4 x 8 cases."""
    form = setup.form()
    legacy = {
        "clientId": setup.client_id,
        "clientSecret": setup.client_secret,
        "tenantId": setup.tenant_id,
        "grant_type": "client_credentials",
    }
    form_type = [(b"content-type", b"application/x-www-form-urlencoded")]
    cases = {}
    for nasty in NASTY:
        for field in form:
            cases[f"form {field}={nasty!r}"] = (form_type, _form({**form, field: nasty}))
        for field in legacy:
            body = json.dumps({**legacy, field: nasty}).encode()
            cases[f"json {field}={nasty!r}"] = ([(b"content-type", b"application/json")], body)
        for client_id, secret in ((nasty, setup.client_secret), (setup.client_id, nasty)):
            authorization = b"Basic " + base64.b64encode(
                f"{client_id}:{secret}".encode("utf-8", "surrogatepass")
            )
            fields = {"grant_type": "client_credentials", "scope": form["scope"]}
            headers = [*form_type, (b"authorization", authorization)]
            cases[f"basic {client_id!r}:{secret!r}"] = (headers, _form(fields))
    return cases


def _form(fields: dict[str, str]) -> bytes:
    return urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in fields.items()}).encode()


async def test_no_nasty_value_in_any_field_makes_the_token_endpoint_fail(target, subtests):
    client, setup = target

    for case, (headers, body) in mutations(setup).items():
        response = await client.post("/v1/token", content=body, headers=headers)
        with subtests.test(case):
            assert_refusal_shape(response)


def bodies(setup: f.Setup) -> st.SearchStrategy[bytes]:
    valid = {
        "clientId": setup.client_id,
        "clientSecret": setup.client_secret,
        "tenantId": setup.tenant_id,
    }
    text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
    value = st.one_of(st.sampled_from(NASTY), text)
    json_value = st.one_of(value, st.integers(), st.none(), st.booleans(), st.lists(value))
    key = st.one_of(st.sampled_from([*valid, *setup.form()]), st.text(max_size=10))
    return st.one_of(
        st.binary(max_size=300),
        st.dictionaries(key, value).map(lambda d: _form(d)),
        st.dictionaries(key, json_value).map(lambda d: json.dumps(d).encode()),
        st.dictionaries(key, json_value).map(lambda d: json.dumps({**valid, **d}).encode()),
        st.dictionaries(key, value).map(lambda d: _form({**setup.form(), **d})),
        st.lists(
            st.sampled_from(JSON_PIECES),
            max_size=8,
        ).map(lambda parts: "".join(parts).encode()),
    )


def authorizations(setup: f.Setup) -> st.SearchStrategy[bytes | None]:
    raw_basic = st.binary(max_size=40).map(lambda b: b"Basic " + base64.b64encode(b))
    return st.one_of(st.none(), raw_basic, header_bytes, st.just(b"Bearer x"))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # hypothesis' failure report
@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_input_makes_the_token_endpoint_fail(target, data):
    client, setup = target
    body = data.draw(bodies(setup), label="body")
    content_type = data.draw(
        st.one_of(st.sampled_from(CONTENT_TYPES).map(str.encode), header_bytes),
        label="content-type",
    )
    authorization = data.draw(authorizations(setup), label="authorization")
    headers = [(b"content-type", content_type)]
    if authorization is not None:
        headers.append((b"authorization", authorization))

    response = await client.post("/v1/token", content=body, headers=headers)

    assert_refusal_shape(response)


def assert_refusal_shape(response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        payload = response.json()
        assert set(payload) == {"error", "error_description"}, payload
        assert payload["error"] in ERRORS, payload
        assert isinstance(payload["error_description"], str)
