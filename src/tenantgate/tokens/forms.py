"""The body of a revocation or introspection request: RFC 7009 §2.1 and RFC 7662 §2.1 send
``application/x-www-form-urlencoded``, and nothing else is read as one. Read by the one body
reader under the Token API's limit, then parsed as strictly as the token endpoint's form."""

from __future__ import annotations

from starlette.requests import Request

from tenantgate.http import BodyTooLarge, read_body
from tenantgate.tokens.errors import InvalidRequest
from tenantgate.tokens.request import MAX_BODY, parse_form

FORM = "application/x-www-form-urlencoded"


async def read_form(request: Request) -> dict[str, str]:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != FORM:
        raise InvalidRequest(f"content-type must be {FORM}.")
    try:
        body = await read_body(request.receive, MAX_BODY, request.headers.get("content-length"))
    except BodyTooLarge:
        raise InvalidRequest("The request body is too large.") from None
    return parse_form(body or b"")
