"""Reads a token request (RFC 6749 §4.4.2) from its body and headers. No I/O here.

Accepted: a form post with the client's credentials in the form (client_secret_post) or in
HTTP Basic (client_secret_basic, RFC 6749 §2.3.1), and the older JSON body
``{"clientId", "clientSecret", "tenantId"}``."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

from tenantgate.edge.body import BadBody, loads
from tenantgate.tokens.errors import InvalidRequest, InvalidScope, UnsupportedGrantType

MAX_BODY = 16_384
SCOPE = re.compile(r"^tenantid:([A-Za-z0-9_-]{1,64})$")
VSCHARS = re.compile(r"[\x20-\x7e]*")  # RFC 6749 Appendix A.1, A.2: client-id, client-secret
GRANT_TYPE = "client_credentials"


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    client_secret: str
    method: str


@dataclass(frozen=True, slots=True)
class TokenRequest:
    credentials: ClientCredentials
    tenant_id: str


def parse_form(body: bytes) -> dict[str, str]:
    """``application/x-www-form-urlencoded`` as the WHATWG URL standard parses it, strictly:
    every field is ``name=value`` (blank values kept) and none is repeated. Written out
    rather than through ``urllib.parse.parse_qs`` because the token endpoint parses one form
    per token: fields without ``%`` or ``+`` are taken as they are."""
    if len(body) > MAX_BODY:
        raise InvalidRequest("The request body is too large.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("The body is not valid application/x-www-form-urlencoded.") from exc
    fields: dict[str, str] = {}
    if not text:
        return fields
    for field in text.split("&"):
        name, equals, value = field.partition("=")
        if not equals:
            raise InvalidRequest("The body is not valid application/x-www-form-urlencoded.")
        if "%" in field or "+" in field:
            name, value = unquote_plus(name), unquote_plus(value)
        if name in fields:
            raise InvalidRequest(f"Parameter {name} is given more than once.")
        fields[name] = value
    return fields


def basic_credentials(authorization: str | None) -> ClientCredentials | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise InvalidRequest("Only HTTP Basic client authentication is accepted in Authorization.")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidRequest("The Authorization header is not valid Basic credentials.") from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise InvalidRequest("The Authorization header is not valid Basic credentials.")
    return ClientCredentials(unquote_plus(client_id), unquote_plus(secret), "client_secret_basic")


def client_credentials(
    fields: dict[str, str], authorization: str | None, *, required: bool = True
) -> ClientCredentials | None:
    basic = basic_credentials(authorization)
    form_id, form_secret = fields.get("client_id"), fields.get("client_secret")
    if basic is not None:
        if form_secret is not None and form_secret != basic.client_secret:
            raise InvalidRequest("Use one client authentication method, not two.")
        if form_id is not None and form_id != basic.client_id:
            raise InvalidRequest("client_id differs from the one in the Authorization header.")
        return _printable(basic)
    if form_id and form_secret:
        return _printable(ClientCredentials(form_id, form_secret, "client_secret_post"))
    if not required and not form_id and not form_secret:
        return None
    missing = "client_id" if not form_id else "client_secret"
    raise InvalidRequest(f"Missing {missing}: authenticate with client_secret_post or Basic.")


def _printable(credentials: ClientCredentials) -> ClientCredentials:
    """Only VSCHARs: anything else cannot be a client's id or secret, and must not reach the
    hash or the audit trail (a NUL or a lone surrogate cannot be stored)."""
    if not (
        VSCHARS.fullmatch(credentials.client_id) and VSCHARS.fullmatch(credentials.client_secret)
    ):
        raise InvalidRequest("client_id and client_secret must be printable ASCII characters.")
    return credentials


def tenant_from_scope(scope: str | None) -> str:
    if not scope:
        raise InvalidScope("scope is missing: send scope=tenantid:<tenant id>.")
    match = SCOPE.match(scope)  # as sent: "tenantid:x " is not the scope tenantid:x
    if match is None:
        raise InvalidScope()
    return match.group(1)


def parse_token_request(content_type: str, body: bytes, authorization: str | None) -> TokenRequest:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        return _form_request(parse_form(body), authorization)
    if media_type == "application/json":
        return _json_request(body, authorization)
    raise InvalidRequest("content-type must be application/x-www-form-urlencoded.")


def _form_request(fields: dict[str, str], authorization: str | None) -> TokenRequest:
    grant_type = fields.get("grant_type")
    if not grant_type:
        raise InvalidRequest("Missing grant_type: send grant_type=client_credentials.")
    if grant_type != GRANT_TYPE:
        raise UnsupportedGrantType()
    tenant_id = tenant_from_scope(fields.get("scope"))
    credentials = client_credentials(fields, authorization)
    assert credentials is not None
    return TokenRequest(credentials, tenant_id)


def _json_request(body: bytes, authorization: str | None) -> TokenRequest:
    if len(body) > MAX_BODY:
        raise InvalidRequest("The request body is too large.")
    try:
        data = loads(body)
    except BadBody as exc:
        raise InvalidRequest(str(exc)) from None
    if not isinstance(data, dict):
        raise InvalidRequest("The JSON body must be an object.")
    if "grant_type" in data and data["grant_type"] != GRANT_TYPE:
        raise UnsupportedGrantType()
    fields = {}
    for source, target in (("clientId", "client_id"), ("clientSecret", "client_secret")):
        value = data.get(source)
        if value is not None and not isinstance(value, str):
            raise InvalidRequest(f"{source} must be a string.")
        if value is not None:
            fields[target] = value
    tenant_id = data.get("tenantId")
    if not isinstance(tenant_id, str) or not tenant_id:
        raise InvalidRequest("Missing tenantId.")
    tenant_id = tenant_from_scope(f"tenantid:{tenant_id}")
    credentials = client_credentials(fields, authorization)
    assert credentials is not None
    return TokenRequest(credentials, tenant_id)


def parse_x_tokens(header: str | None) -> str:
    """``x-tokens: accessToken=<token>; refreshToken=<token>`` → the access token."""
    if not header:
        raise InvalidRequest("Missing x-tokens header: send x-tokens: accessToken=<token>.")
    pairs: dict[str, str] = {}
    for part in re.split(r"[;,]", header):
        key, eq, value = part.strip().partition("=")
        if part.strip() and not eq:
            raise InvalidRequest("x-tokens must be key=value pairs separated by ';' or ','.")
        if eq:
            if key.strip() in pairs:
                raise InvalidRequest(f"x-tokens gives {key.strip()} more than once.")
            pairs[key.strip()] = value.strip()
    token = pairs.get("accessToken")
    if not token:
        raise InvalidRequest("x-tokens has no accessToken.")
    return token
