"""The registry as a document: what ``tenantgate export`` writes and ``tenantgate apply`` (and
``POST /admin/v1/apply``) reads, in YAML or JSON (docs/gitops.md).

A document is read whole before anything is planned: the YAML is composed into its node tree
first, so that every value keeps the line it came from, then checked by the models below
(unknown keys refused), and every problem is reported at once as ``FILE:LINE: path: message``.
Anchors, aliases and repeated keys are refused: a reviewer must see in the diff everything the
file says. No I/O here."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic import field_validator as check

from tenantgate.registry import grants, rules
from tenantgate.registry.errors import InvalidInput, RegistryError

VERSION = 1
Path = tuple[str | int, ...]
ALIASES = "anchors and aliases are not accepted: write the value out"
Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _digits(value: Any) -> Any:
    """An application id written unquoted is read by YAML as a number; it means the same."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


ApplicationId = Annotated[str, BeforeValidator(_digits)]


def _rule(check_value: Any, value: Any, *args: Any) -> Any:
    try:
        return check_value(value, *args)
    except InvalidInput as exc:
        raise ValueError(exc.description) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeclaredApp(_Strict):
    """One app of a tenant, keyed by its name in the tenant's ``apps``."""

    graphql_url: str
    websocket_url: str | None = None

    @check("graphql_url")
    @classmethod
    def _graphql(cls, value: str) -> str:
        return _rule(rules.upstream_url, value, ("http", "https"), "graphql_url")  # type: ignore[no-any-return]

    @check("websocket_url")
    @classmethod
    def _websocket(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _rule(rules.upstream_url, value, ("ws", "wss"), "websocket_url")  # type: ignore[no-any-return]


class DeclaredApiUser(_Strict):
    """The tenant accepts one application, named by ``application_id`` or, for an application
    this file creates, by ``application`` (its name). ``apps`` absent: every app."""

    application_id: ApplicationId | None = None
    application: str | None = None
    first_name: str = "API"
    last_name: str = "User"
    enabled: bool = True
    apps: list[str] | None = None
    roles: list[str] | None = None

    @check("application_id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        return None if value is None else _rule(rules.application_id, value)

    @check("first_name", "last_name")
    @classmethod
    def _names(cls, value: str, info: Any) -> str:
        return _rule(rules.display_name, value, info.field_name, 100)  # type: ignore[no-any-return]

    @check("apps")
    @classmethod
    def _apps(cls, value: list[str] | None) -> list[str] | None:
        return _rule(rules.app_names, value)  # type: ignore[no-any-return]

    @check("roles")
    @classmethod
    def _roles(cls, value: list[str] | None) -> list[str] | None:
        return _rule(grants.role_names, value)  # type: ignore[no-any-return]


class DeclaredRole(_Strict):
    """One role of a tenant, keyed by its name in the tenant's ``roles`` (docs/roles.md)."""

    description: str = ""
    grants: list[dict[str, Any]] = Field(default_factory=list)

    @check("grants")
    @classmethod
    def _grants(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """In the form the registry keeps them, so that an unchanged role plans nothing."""
        return [grant.as_json() for grant in _rule(grants.grants, value)]


class DeclaredTenant(_Strict):
    """A tenant, keyed by ``tenant_id`` (export writes it); without one, by its ``name``."""

    tenant_id: str | None = None
    name: str
    region: str = "eu"
    cluster: str = "cluster-release"
    status: Literal["active", "suspended"] = "active"
    apps: dict[str, DeclaredApp] = Field(default_factory=dict)
    roles: dict[str, DeclaredRole] = Field(default_factory=dict)
    api_users: list[DeclaredApiUser] = Field(default_factory=list)

    @check("tenant_id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        return None if value is None else _rule(rules.tenant_id, value)

    @check("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _rule(rules.display_name, value)  # type: ignore[no-any-return]

    @check("region", "cluster")
    @classmethod
    def _slug(cls, value: str, info: Any) -> str:
        return _rule(rules.slug, value, info.field_name)  # type: ignore[no-any-return]

    @check("roles")
    @classmethod
    def _role_names(cls, value: dict[str, DeclaredRole]) -> dict[str, DeclaredRole]:
        for name in value:
            _rule(grants.role_name, name)
        return value

    @check("apps")
    @classmethod
    def _app_names(cls, value: dict[str, DeclaredApp]) -> dict[str, DeclaredApp]:
        for name in value:
            _rule(rules.app_name, name)
        return value


class DeclaredApplication(_Strict):
    """An application, keyed by ``application_id`` (export writes it); without one, by its
    ``name``. ``client_id`` is made by the server: given, it must match."""

    application_id: ApplicationId | None = None
    client_id: str | None = None
    name: str
    status: Literal["active", "suspended"] = "active"
    owner: str | None = None
    owner_account_id: int | None = Field(None, ge=1)

    @check("application_id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        return None if value is None else _rule(rules.application_id, value)

    @check("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _rule(rules.display_name, value)  # type: ignore[no-any-return]

    @check("owner")
    @classmethod
    def _owner(cls, value: str | None) -> str | None:
        return None if value is None else _rule(rules.display_name, value, "owner", 320)


class Document(_Strict):
    version: Literal[1] = 1
    applications: list[DeclaredApplication] = Field(default_factory=list)
    tenants: list[DeclaredTenant] = Field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str
    line: int | None = None

    @property
    def where(self) -> str:
        return dotted(self.path)

    def render(self, source: str) -> str:
        place = f"{source}:{self.line}" if self.line is not None else source
        return f"{place}: {self.where}: {self.message}" if self.path else f"{place}: {self.message}"


class InvalidDocument(RegistryError):
    """The document cannot be applied; ``problems`` says everything wrong with it, in order."""

    def __init__(self, problems: list[Problem], source: str = "<body>") -> None:
        self.problems = sorted(problems, key=lambda p: (p.line or 0, dotted(p.path)))
        self.source = source
        super().__init__(self.problems[0].render(source))

    def lines(self) -> list[str]:
        return [p.render(self.source) for p in self.problems]


def dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass(frozen=True)
class Source:
    """A read document: its models, and the line of each path for the problems found later."""

    document: Document
    lines: dict[Path, int]
    name: str

    def problem(self, path: Path, message: str) -> Problem:
        return Problem(path, message, line_of(self.lines, path))


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of ``path``, or of the nearest enclosing value the file has (a missing field
    is reported where its mapping starts)."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def read_yaml(text: str, name: str = "<body>") -> Source:
    """Parse, check and model ``text`` (YAML, or JSON, which YAML reads too)."""
    try:
        root = yaml.compose(text, Loader=Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise InvalidDocument([Problem((), f"not valid YAML: {exc.problem}", line)], name) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise InvalidDocument([Problem((), f"not valid YAML: {exc}")], name) from None
    lines: dict[Path, int] = {}
    seen: set[int] = set()
    problems = list(_walk(root, (), lines, seen)) if root is not None else []
    if any(p.message == ALIASES for p in problems):
        raise InvalidDocument(problems, name)
    data = yaml.load(text, Loader=Loader) if root is not None else {}
    try:
        source = read_data(data, lines, name)
    except InvalidDocument as exc:
        raise InvalidDocument(problems + exc.problems, name) from None
    if problems:
        raise InvalidDocument(problems, name)
    return source


def read_data(data: Any, lines: dict[Path, int] | None = None, name: str = "<body>") -> Source:
    """Model already-parsed data (a JSON body); ``lines`` as :func:`read_yaml` found them."""
    lines = lines or {}
    if not isinstance(data, dict):
        raise InvalidDocument([Problem((), "the document must be a mapping", 1)], name)
    try:
        document = Document.model_validate(data)
    except ValidationError as exc:
        raise InvalidDocument([_problem(e, lines) for e in exc.errors()], name) from None
    source = Source(document, lines, name)
    problems = list(repeated(source))
    if problems:
        raise InvalidDocument(problems, name)
    return source


def _problem(error: Any, lines: dict[Path, int]) -> Problem:
    path = tuple(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "missing":
        message = "required"
    return Problem(path, message, line_of(lines, path))


def _walk(node: Any, path: Path, lines: dict[Path, int], seen: set[int]) -> Iterator[Problem]:
    line = node.start_mark.line + 1
    if id(node) in seen:
        yield Problem(path, ALIASES, line)
        return
    seen.add(id(node))
    lines[path] = line
    if isinstance(node, yaml.MappingNode):
        keys: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                yield Problem(path, "keys must be plain words", key_node.start_mark.line + 1)
                continue
            if key in keys:
                yield Problem((*path, key), "given twice", key_node.start_mark.line + 1)
            keys.add(key)
            if id(value_node) in seen:
                yield Problem((*path, key), ALIASES, key_node.start_mark.line + 1)
                continue
            yield from _walk(value_node, (*path, key), lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _walk(item, (*path, index), lines, seen)


def repeated(source: Source) -> Iterator[Problem]:
    """What the models cannot see one entry at a time: the same key used twice."""
    document = source.document
    ids: dict[str, int] = {}
    for i, application in enumerate(document.applications):
        if application.application_id is None:
            continue
        if application.application_id in ids:
            yield source.problem(
                ("applications", i, "application_id"),
                f"application {application.application_id} is already at "
                f"applications[{ids[application.application_id]}]",
            )
        ids.setdefault(application.application_id, i)
    tenant_ids: dict[str, int] = {}
    for i, tenant in enumerate(document.tenants):
        if tenant.tenant_id is not None:
            if tenant.tenant_id in tenant_ids:
                yield source.problem(
                    ("tenants", i, "tenant_id"),
                    f"tenant {tenant.tenant_id} is already at "
                    f"tenants[{tenant_ids[tenant.tenant_id]}]",
                )
            tenant_ids.setdefault(tenant.tenant_id, i)
        yield from _api_users(source, i, tenant)


def _api_users(source: Source, index: int, tenant: DeclaredTenant) -> Iterator[Problem]:
    named: dict[str, int] = {}
    for j, user in enumerate(tenant.api_users):
        path = ("tenants", index, "api_users", j)
        if (user.application_id is None) == (user.application is None):
            yield source.problem(path, "give application_id or application (a name), not both")
            continue
        key = user.application_id or f"name:{user.application}"
        if key in named:
            yield source.problem(path, f"this application is already at api_users[{named[key]}]")
        named.setdefault(key, j)


def dump(data: dict[str, Any]) -> str:
    """The YAML text of a document, in the order the fields were given."""
    dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)  # type: ignore[no-any-return]
