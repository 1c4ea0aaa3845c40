"""Read spec/openapi.yaml into typed :class:`Operation` values for the generator, refusing what it cannot type.

Besides types, it reads each operation's access rules (`security`, `x-roles`, `x-self-only`), rate-limit policy
(`x-rate-limit`) and service-level objective (`x-slo`, see :mod:`scripts.spec_slo`), deny by default: an operation
with `security` but no roles, an unknown role or policy, a missing or malformed SLO, or a status the guard can
answer but the operation does not declare, is a :class:`SpecError`; so is a `deprecated: true` operation without
its dates (see :mod:`scripts.spec_deprecation`).
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from scripts.spec_deprecation import DeprecationInfo, read_deprecation
from scripts.spec_slo import Slo, read_slo

HTTP_METHODS = ("get", "head", "post", "put", "patch", "delete", "options", "trace")
JSON_MEDIA = re.compile(r"^application/([a-z0-9.+-]+\+)?json$")
FORM_MEDIA = "application/x-www-form-urlencoded"
# Bodies the handler reads itself, as a stream (uploads): it receives the unread request, never a parsed value, so
# a size limit can be enforced while the bytes arrive.
STREAMED_MEDIA = frozenset({"multipart/form-data", "application/octet-stream"})
# An operation extension: its JSON request body is read by the handler, not parsed by the framework.
HANDLER_READS_BODY = "x-handler-reads-body"
# The path parameter a self-only role must own: the caller's own id.
OWNER_PARAMETER = "user_id"
NO_RATE_LIMIT = "none"


class SpecError(Exception):
    """The spec uses something the generator cannot turn into typed code; the message says what and where."""


def snake_case(name: str) -> str:
    name = re.sub(r"[^0-9A-Za-z]+", "_", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    result = name.strip("_").lower()
    if not result or result[0].isdigit() or keyword.iskeyword(result):
        result = f"{result}_"
    return result


def pascal_case(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", name) if part)


@dataclass(frozen=True)
class Parameter:
    name: str  # as in the spec (path template name, query key, header name)
    python_name: str
    location: str  # path | query | header | cookie
    annotation: str  # the Python type the handler receives
    required: bool
    default: str | None  # Python literal of the schema default, if any
    constraints: dict[str, str]  # keyword arguments for fastapi.Path/Query/Header/Cookie
    description: str | None


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    tag: str
    summary: str | None
    description: str | None
    deprecated: bool
    parameters: tuple[Parameter, ...]
    body_annotation: str | None
    body_required: bool
    body_media_types: tuple[str, ...]
    success_status: int
    return_annotation: str  # "None" when the success response has no body, "Response" when it is not JSON
    responses: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # status -> (description, model)
    body_is_form: bool = False
    body_is_json_or_form: bool = False  # JSON and the form, one schema: the route reads whichever was sent
    body_is_streamed: bool = False  # multipart, octet-stream or x-handler-reads-body: the handler reads the request
    # Access control from `security`, `x-roles` and `x-self-only`; empty roles means a public operation.
    roles: tuple[str, ...] = ()
    self_only: tuple[str, ...] = ()
    rate_limit: str | None = None  # the `x-rate-limit` policy, None for `none`
    deprecation: DeprecationInfo | None = None  # dates and links of a `deprecated: true` operation
    slo: Slo | None = None  # the `x-slo` (p95 latency, error share) `make load` judges the operation by
    also_other_media: bool = False  # the success response is JSON or other media types (the handler's Response)

    @property
    def streams_response(self) -> bool:
        """The success body is not JSON (a file, NDJSON, CSV, an event stream): the handler builds the Response."""
        return self.return_annotation == "Response"

    @property
    def secured(self) -> bool:
        return bool(self.roles)

    @property
    def python_name(self) -> str:
        return snake_case(self.operation_id)


def handler_reads_body(raw: dict[str, Any], media: tuple[str, ...]) -> bool:
    """The handler receives the unread request: an upload (multipart, octet-stream), or a JSON body too large to
    parse on the event loop (`x-handler-reads-body`), which the handler parses and validates elsewhere (a worker
    process); the schema still describes what it must accept."""
    return (bool(media) and set(media) <= STREAMED_MEDIA) or raw.get(HANDLER_READS_BODY) is True


@dataclass(frozen=True)
class RequestBody:
    annotation: str | None = None  # None when absent or streamed
    required: bool = False
    media_types: tuple[str, ...] = ()
    is_form: bool = False
    is_json_or_form: bool = False
    is_streamed: bool = False


class SpecReader:
    """Turns the spec's operations into :class:`Operation` values, resolving ``$ref`` within the document."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.schemas: dict[str, Any] = spec.get("components", {}).get("schemas", {})
        self.security_schemes: dict[str, Any] = spec.get("components", {}).get("securitySchemes", {})
        self.known_roles: tuple[str, ...] = tuple(self.schemas.get("Role", {}).get("enum", ()))
        self.rate_limit_policies: tuple[str, ...] = tuple(spec.get("x-rate-limit-policies", {}))

    def access(self, raw: dict[str, Any], where: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The roles allowed and the self-only roles; deny by default: `security` without `x-roles` is an error."""
        requirements = raw.get("security", self.spec.get("security", []))
        secured = any(requirement for requirement in requirements)
        roles, self_only = raw.get("x-roles"), raw.get("x-self-only", [])
        if not secured:
            if roles or self_only:
                raise SpecError(f"{where}: `x-roles` on a public operation (`security: []`) would not be enforced")
            return (), ()
        for requirement in requirements:
            for scheme in requirement:
                if scheme not in self.security_schemes:
                    raise SpecError(f"{where}: security scheme {scheme!r} is not in components.securitySchemes")
        if not roles or not isinstance(roles, list):
            raise SpecError(f"{where}: an operation with `security` must declare the roles allowed (`x-roles`)")
        unknown = sorted(set(roles) - set(self.known_roles)) if self.known_roles else []
        if unknown:
            raise SpecError(
                f"{where}: `x-roles` names unknown roles {unknown} (the Role schema has {self.known_roles})"
            )
        if not set(self_only) <= set(roles):
            raise SpecError(f"{where}: `x-self-only` roles must also be in `x-roles`")
        return tuple(sorted(roles)), tuple(sorted(self_only))

    def rate_limit(self, raw: dict[str, Any], where: str) -> str | None:
        policy = raw.get("x-rate-limit")
        if policy is None:
            raise SpecError(f"{where}: declare a rate-limit policy (`x-rate-limit`: one of the policies, or `none`)")
        if policy == NO_RATE_LIMIT:
            return None
        if policy not in self.rate_limit_policies:
            raise SpecError(f"{where}: `x-rate-limit` {policy!r} is not in x-rate-limit-policies")
        return str(policy)

    def resolve(self, node: Any) -> Any:
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                raise SpecError(f"only local references are supported, got {ref!r}")
            target: Any = self.spec
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
            seen += 1
            if seen > 32:
                raise SpecError(f"reference cycle at {ref}")
        return node

    def model_name(self, ref: str, where: str) -> str:
        prefix = "#/components/schemas/"
        if not ref.startswith(prefix):
            raise SpecError(f"{where}: schema reference {ref!r} must point into {prefix}")
        name = ref[len(prefix) :]
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
            raise SpecError(f"{where}: component schema {name!r} must be PascalCase to map onto a model class")
        return f"models.{name}"

    def python_type(self, schema: dict[str, Any], where: str) -> str:
        if "$ref" in schema:
            return self.model_name(schema["$ref"], where)
        if "enum" in schema:
            return "Literal[" + ", ".join(repr(value) for value in schema["enum"]) + "]"
        kind = schema.get("type")
        nullable = False
        if isinstance(kind, list):
            nullable = "null" in kind
            kinds = [k for k in kind if k != "null"]
            if len(kinds) != 1:
                raise SpecError(f"{where}: parameters must have a single non-null type, got {kind!r}")
            kind = kinds[0]
        fmt = schema.get("format")
        scalar = {
            ("string", "uuid"): "UUID",
            ("string", "date-time"): "RFC3339DateTime",
            ("string", "date"): "RFC3339Date",
        }.get((str(kind), str(fmt)))
        if scalar is None:
            if kind == "array":
                scalar = f"list[{self.python_type(schema.get('items', {}), where)}]"
            else:
                scalar = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}.get(str(kind), "")
        if not scalar:
            raise SpecError(f"{where}: unsupported parameter schema {schema!r}")
        return f"{scalar} | None" if nullable else scalar

    @staticmethod
    def constraints(schema: dict[str, Any]) -> dict[str, str]:
        mapping = {
            "minLength": "min_length",
            "maxLength": "max_length",
            "pattern": "pattern",
            "minimum": "ge",
            "maximum": "le",
            "exclusiveMinimum": "gt",
            "exclusiveMaximum": "lt",
        }
        return {mapping[key]: repr(schema[key]) for key in mapping if key in schema}

    def parameter(self, raw: dict[str, Any], where: str) -> Parameter:
        param = self.resolve(raw)
        name, location = param["name"], param["in"]
        schema = param.get("schema")
        if schema is None:
            raise SpecError(f"{where}: parameter {name!r} needs a schema")
        resolved = self.resolve(schema)
        required = bool(param.get("required", location == "path"))
        annotation = self.python_type(schema, f"{where} parameter {name!r}")
        default = repr(resolved["default"]) if "default" in resolved else None
        if not required and default is None and not annotation.endswith("| None"):
            annotation = f"{annotation} | None"
        constraints = self.constraints(resolved)
        python_name = snake_case(name)
        if location == "header" or python_name != name:
            constraints["alias"] = repr(name)
        description = param.get("description")
        return Parameter(name, python_name, location, annotation, required, default, constraints, description)

    def operations(self) -> list[Operation]:
        found: list[Operation] = []
        seen_ids: set[str] = set()
        for path, item in sorted(self.spec.get("paths", {}).items()):
            shared = item.get("parameters", [])
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                raw = item[method]
                where = f"{method.upper()} {path}"
                operation_id = raw.get("operationId")
                if not operation_id:
                    raise SpecError(f"{where}: every operation needs an operationId")
                if operation_id in seen_ids:
                    raise SpecError(f"{where}: duplicate operationId {operation_id!r}")
                seen_ids.add(operation_id)
                tags = raw.get("tags", [])
                if len(tags) != 1:
                    raise SpecError(f"{where}: every operation needs exactly one tag, got {tags!r}")
                found.append(self.operation(path, method, raw, shared, tags[0], where))
        return found

    def operation(
        self, path: str, method: str, raw: dict[str, Any], shared: list[Any], tag: str, where: str
    ) -> Operation:
        """Check the operation's shape, then read it; access rules and the statuses they need are checked last."""
        self.check_request_body(raw, where)
        self.check_responses(method, raw, where)
        responses = self.responses(raw, where)
        successes = sorted(code for code in responses if 200 <= code < 300)
        success = successes[0]
        body = self.request_body(raw, where)
        roles, self_only = self.access(raw, where)
        try:
            deprecation = read_deprecation(raw, resolve=self.resolve, success_statuses=successes)
            slo = read_slo(raw)
        except ValueError as error:
            raise SpecError(f"{where}: {error}") from None
        operation = Operation(
            operation_id=raw["operationId"],
            method=method,
            path=path,
            tag=tag,
            summary=raw.get("summary"),
            description=raw.get("description"),
            deprecated=bool(raw.get("deprecated", False)),
            parameters=self.parameters([*shared, *raw.get("parameters", [])], where),
            body_annotation=body.annotation,
            body_required=body.required,
            body_media_types=body.media_types,
            success_status=success,
            return_annotation=self.return_annotation(raw, success, where),
            also_other_media=self.also_other_media(raw, success),
            responses=responses,
            body_is_form=body.is_form,
            body_is_json_or_form=body.is_json_or_form,
            body_is_streamed=body.is_streamed,
            roles=roles,
            self_only=self_only,
            rate_limit=self.rate_limit(raw, where),
            deprecation=deprecation,
            slo=slo,
        )
        self.check_guard_statuses(operation, where)
        return operation

    # Validation: each raises a SpecError naming the operation and what it cannot type.

    def check_request_body(self, raw: dict[str, Any], where: str) -> None:
        if "requestBody" not in raw:
            return
        body = self.resolve(raw["requestBody"])
        media = tuple(sorted(body.get("content", {})))
        if raw.get(HANDLER_READS_BODY) is True and not all(JSON_MEDIA.match(m) for m in media):
            raise SpecError(f"{where}: `{HANDLER_READS_BODY}` is for JSON request bodies")
        streamed = handler_reads_body(raw, media)
        if not media or not (streamed or all(JSON_MEDIA.match(m) for m in media if m != FORM_MEDIA)):
            raise SpecError(
                f"{where}: request bodies must be JSON (optionally also {FORM_MEDIA}), only {FORM_MEDIA}, "
                f"or only {sorted(STREAMED_MEDIA)}, got {list(media)}"
            )
        if streamed and not body.get("required", False):
            raise SpecError(f"{where}: a streamed request body must be `required`")
        if not streamed and len({repr(body["content"][m].get("schema")) for m in media}) != 1:
            raise SpecError(f"{where}: every request media type must share one schema")

    def check_responses(self, method: str, raw: dict[str, Any], where: str) -> None:
        codes = [str(code) for code in raw.get("responses", {})]
        for code in codes:
            if not code.isdigit():
                raise SpecError(f"{where}: declare explicit status codes, not {code!r}")
        successes = sorted(int(code) for code in codes if 200 <= int(code) < 300)
        if not successes:
            raise SpecError(f"{where}: needs a 2xx response")
        content = self.resolve(raw["responses"][str(successes[0])]).get("content", {})
        if method == "head" and content:
            raise SpecError(f"{where}: a HEAD response has no body")
        json_media = [m for m in sorted(content) if JSON_MEDIA.match(m)]
        # One JSON type beside others (say CSV) is fine: the handler returns the model, or its own Response.
        if len(json_media) > 1 and len(json_media) != len(content):
            raise SpecError(f"{where}: the {successes[0]} response mixes several JSON and other media types")
        if json_media and "schema" not in content[json_media[0]]:
            raise SpecError(f"{where}: the {successes[0]} response needs a JSON schema")

    def check_guard_statuses(self, operation: Operation, where: str) -> None:
        """Every status the guard can answer must be in the contract."""
        roles, rate_limit = operation.roles, operation.rate_limit
        policy = self.spec.get("x-rate-limit-policies", {}).get(rate_limit or "", {})
        refuses_without_store = bool(rate_limit) and policy.get("on_store_failure", "refuse") != "allow"
        needed = {
            401: roles,
            403: set(self.known_roles) - set(roles) if roles else (),
            429: rate_limit,
            # The token blacklist and a fail-closed rate-limit store answer 503 when they are unreachable.
            503: roles or refuses_without_store,
        }
        if operation.self_only:
            if OWNER_PARAMETER not in {p.name for p in operation.parameters if p.location == "path"}:
                raise SpecError(f"{where}: `x-self-only` needs the path parameter {OWNER_PARAMETER!r}")
            needed[404] = operation.self_only
        for status, reason in needed.items():
            if reason and status not in operation.responses:
                raise SpecError(f"{where}: the guard can answer {status}; declare it in `responses`")

    # Extraction: the operation's shape has been checked.

    def parameters(self, raw: list[Any], where: str) -> tuple[Parameter, ...]:
        """Path-level and operation-level parameters; an operation's own replaces a shared one of the same name."""
        by_key: dict[tuple[str, str], Parameter] = {}
        for entry in raw:
            parameter = self.parameter(entry, where)
            by_key[(parameter.location, parameter.name)] = parameter
        return tuple(by_key.values())

    def request_body(self, raw: dict[str, Any], where: str) -> RequestBody:
        if "requestBody" not in raw:
            return RequestBody()
        body = self.resolve(raw["requestBody"])
        media = tuple(sorted(body["content"]))
        required = bool(body.get("required", False))
        if handler_reads_body(raw, media):
            return RequestBody(required=required, media_types=media, is_streamed=True)
        annotation = self.python_type(body["content"][media[0]]["schema"], f"{where} request body")
        # JSON and the form with one schema (checked): the route reads whichever was sent.
        json_or_form = FORM_MEDIA in media and len(media) > 1
        return RequestBody(annotation, required, media, is_form=media == (FORM_MEDIA,), is_json_or_form=json_or_form)

    def responses(self, raw: dict[str, Any], where: str) -> dict[int, tuple[str, str | None]]:
        """Each status's description and the model of its first JSON-referenced schema, if any."""
        responses: dict[int, tuple[str, str | None]] = {}
        for code, response_raw in raw["responses"].items():
            response = self.resolve(response_raw)
            model = None
            for media_type, content in sorted(response.get("content", {}).items()):
                if "schema" in content and "$ref" in content["schema"]:
                    model = self.model_name(content["schema"]["$ref"], f"{where} response {code} {media_type}")
                    break
            responses[int(code)] = (response.get("description", ""), model)
        return responses

    def return_annotation(self, raw: dict[str, Any], success: int, where: str) -> str:
        """ "None" without a body, "Response" when the handler streams its own (files, NDJSON, CSV, SSE)."""
        content = self.resolve(raw["responses"][str(success)]).get("content", {})
        json_media = [m for m in sorted(content) if JSON_MEDIA.match(m)]
        if not content:
            return "None"
        if not json_media:
            return "Response"
        return self.python_type(content[json_media[0]]["schema"], f"{where} {success}")

    def also_other_media(self, raw: dict[str, Any], success: int) -> bool:
        """The success response is JSON or another media type (say CSV): the handler may return its own Response."""
        content = self.resolve(raw["responses"][str(success)]).get("content", {})
        json_media = [m for m in content if JSON_MEDIA.match(m)]
        return bool(json_media) and len(json_media) != len(content)
