"""``tenantgate token get|invalidate`` and ``tenantgate graphql``: the SDK from a shell.

Exit codes: 0 ok, 1 other error, 2 usage, 3 bad credentials (``invalid_client``), 4 the tenant
has not accepted the application (``access_denied``), 5 network down, 6 GraphQL errors.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from ._base import USER_AGENT, transport_error
from ._cache import TokenCache
from ._client import Client
from ._config import ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_TENANT_ID, ENV_TOKEN_URL
from ._errors import (
    AccessDenied,
    GraphQLError,
    InvalidClient,
    TenantgateError,
    TransportError,
)
from ._tokens import Token, check_invalidated, invalidate_request

EXIT_OTHER = 1
EXIT_CREDENTIALS = 3
EXIT_NOT_ACCEPTED = 4
EXIT_NETWORK = 5
EXIT_GRAPHQL = 6
_EXIT_CODES: list[tuple[type[TenantgateError], int]] = [
    (InvalidClient, EXIT_CREDENTIALS),
    (AccessDenied, EXIT_NOT_ACCEPTED),
    (TransportError, EXIT_NETWORK),
    (GraphQLError, EXIT_GRAPHQL),
]

app = typer.Typer(help="Use a tenantgate server as an application does.", no_args_is_help=True)
token_app = typer.Typer(help="Get and invalidate access tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")

TokenUrl = Annotated[
    str, typer.Option(envvar=ENV_TOKEN_URL, help="The Token API, e.g. https://host/v1/token.")
]
ClientId = Annotated[str, typer.Option(envvar=ENV_CLIENT_ID, help="The application's client id.")]
ClientSecret = Annotated[
    str,
    typer.Option(
        envvar=ENV_CLIENT_SECRET,
        help="The client secret; prefer the environment variable to the option.",
        show_default=False,
    ),
]
TenantId = Annotated[str, typer.Option(envvar=ENV_TENANT_ID, help="The tenant to access.")]


@token_app.command("get")
def token_get(
    token_url: TokenUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    tenant_id: TenantId,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")] = False,
) -> None:
    """Get an access token and print it (it stays valid: invalidate it when done)."""
    client = _client(token_url, client_id, client_secret, tenant_id)
    with _exit_on_error(), closing(client):
        token = client.token()
    typer.echo(json.dumps(token.raw) if as_json else _describe(token))


@token_app.command("invalidate")
def token_invalidate(
    token: Annotated[
        str | None,
        typer.Argument(
            help="The access token. Absent or '-': read from stdin, either the bare token "
            "or the output of 'token get --json'.",
            show_default=False,
        ),
    ] = None,
    token_url: Annotated[
        str | None,
        typer.Option(envvar=ENV_TOKEN_URL, help="Where to send the DELETE, when stdin has none."),
    ] = None,
) -> None:
    """Invalidate an access token."""
    access_token, url = _token_to_invalidate(token, token_url)
    with _exit_on_error():
        _invalidate(url, access_token)


def graphql(
    query: Annotated[str, typer.Argument(help="The GraphQL document; '-' reads it from stdin.")],
    app_name: Annotated[str, typer.Option("--app", help="The app, as named in urls.apps.")],
    token_url: TokenUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    tenant_id: TenantId,
    var: Annotated[
        list[str] | None,
        typer.Option(help="A variable as k=v, repeatable; v is read as JSON when it can be."),
    ] = None,
    vars_file: Annotated[
        Path | None, typer.Option(help="A JSON object of variables; --var entries win.")
    ] = None,
    operation_name: Annotated[str | None, typer.Option(help="The operation to run.")] = None,
) -> None:
    """Run a GraphQL operation on one of the tenant's apps and print its data as JSON."""
    document = sys.stdin.read() if query == "-" else query
    variables = _variables(vars_file, var or [])
    with _exit_on_error(), _client(token_url, client_id, client_secret, tenant_id) as client:
        data = client.graphql(app_name, document, variables or None, operation_name)
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


app.command("graphql")(graphql)


def _client(token_url: str, client_id: str, client_secret: str, tenant_id: str) -> Client:
    return Client(
        token_url=token_url,
        client_id=client_id,
        client_secret=client_secret,
        tenant_id=tenant_id,
        cache=TokenCache(),
    )


@contextmanager
def _exit_on_error() -> Iterator[None]:
    try:
        yield
    except TenantgateError as error:
        typer.echo(f"tenantgate: {' '.join(str(error).split())}", err=True)
        raise typer.Exit(_exit_code(error)) from None


def _exit_code(error: TenantgateError) -> int:
    return next((code for kind, code in _EXIT_CODES if isinstance(error, kind)), EXIT_OTHER)


def _describe(token: Token) -> str:
    rows = [
        ("access_token", token.access_token),
        ("token_type", token.token_type),
        ("expires_in", token.expires_in),
        ("expires_at", token.expires_at.isoformat() if token.expires_at else None),
        ("scope", token.scope),
        ("tenant_id", token.tenant_id),
        ("invalidate", token.invalidate_url),
        *((f"app {name}", url) for name, url in token.apps.items()),
    ]
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"{label + ':':<{width}}{value}" for label, value in rows if value is not None)


def _token_to_invalidate(token: str | None, token_url: str | None) -> tuple[str, str]:
    if token in (None, "-"):
        token, token_url = _token_from_stdin(token_url)
    if not token:
        raise typer.BadParameter("give the token as an argument or on stdin", param_hint="TOKEN")
    if not token_url:
        raise typer.BadParameter(f"missing (or set {ENV_TOKEN_URL})", param_hint="--token-url")
    return token, token_url


def _token_from_stdin(token_url: str | None) -> tuple[str | None, str | None]:
    if sys.stdin.isatty():
        return None, token_url
    text = sys.stdin.read().strip()
    if not text.startswith("{"):
        return text, token_url
    try:
        body = json.loads(text)
    except ValueError:
        raise typer.BadParameter("stdin is not valid JSON", param_hint="TOKEN") from None
    if not isinstance(body, dict):
        raise typer.BadParameter("stdin is not a token response", param_hint="TOKEN")
    urls = body.get("urls")
    url = urls.get("invalidateToken") if isinstance(urls, dict) else None
    return body.get("access_token"), url or token_url


def _invalidate(url: str, access_token: str) -> None:
    with httpx.Client(headers={"User-Agent": USER_AGENT}) as http:
        request = invalidate_request(http, url, access_token)
        try:
            response = http.send(request)
        except httpx.TransportError as exc:
            raise transport_error(request, exc) from exc
    check_invalidated(response, time.time())


def _variables(vars_file: Path | None, pairs: list[str]) -> dict[str, Any]:
    variables = _variables_file(vars_file) if vars_file else {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{pair!r} is not k=v", param_hint="--var")
        variables[name] = _json_or_text(text)
    return variables


def _variables_file(path: Path) -> dict[str, Any]:
    try:
        variables = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}", param_hint="--vars-file") from None
    if not isinstance(variables, dict):
        raise typer.BadParameter(f"{path} is not a JSON object", param_hint="--vars-file")
    return variables


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
