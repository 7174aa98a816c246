"""openapi.yaml, loaded once and turned into request validators.

The server has no schemas of its own: every body, path parameter and header it accepts is checked
with jsonschema against the spec's own components, `$ref`s resolved inside the loaded YAML. That
includes each guide model's input schema, which the request bodies apply with `if`/`then` on the
model version: the server is exactly as strict as the spec. This module is pure (no I/O after
loading) and knows nothing about HTTP frameworks.

    spec = load_spec()
    operation = spec.operation("createPrediction")
    issues = operation.check_body(json_value)       # FastAPI-style validation issues, [] when valid
    issues = spec.check_component("LlamaChatInput", value, loc=("body", "input"))
    body = spec.shape("Prediction", known_values, every_property=True)  # what the server sends

The server's answers are shaped by the spec too (`shape`): every property a schema defines, from
the values the server knows, `null` or a schema-valid default for the others, and nothing the
schema does not define. A field the spec gains or loses is in the answers, or gone, at once.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache, cached_property
from pathlib import Path
from typing import Any, cast

import attrs
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:inference-api:openapi"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace", "query")  # query: OpenAPI 3.2
# A packaged wheel carries the spec next to this module; a checkout has it at the repository root.
SPEC_LOCATIONS = (
    Path(__file__).resolve().parent / "openapi.yaml",
    Path(__file__).resolve().parents[2] / "openapi.yaml",  # a checkout: mock_server/inference_api_mock/
)
# Long offending values are cut in messages: a validation error must stay small and readable.
MAX_MESSAGE_CHARS = 200
# Schemas nest this deep at most when building defaults: a schema that refers to itself stops here.
MAX_SHAPE_DEPTH = 16
# A `date-time` the server has no value for (a required, non-nullable one the spec gains).
EPOCH = "1970-01-01T00:00:00Z"
_ABSENT = object()

Shaper = Callable[[Mapping[str, Any]], dict[str, Any]]

ValidationIssue = dict[str, Any]

# RFC 3986 (appendix B) with a mandatory scheme. jsonschema checks "uri" only when an optional
# package (rfc3987) is installed, which the server does not require.
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]*$")
FORMATS = FormatChecker(formats=())


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI.match(value))


def _message(error: ValidationError) -> tuple[str, str]:
    """A FastAPI-like (msg, type) for one jsonschema error."""
    kind = str(error.validator)
    if kind == "required":
        return "Field required", "missing"
    if kind == "type":
        return f"Input should be of type {error.validator_value!r}", f"{_first(error.validator_value)}_type"
    if kind == "pattern":
        return f"String should match pattern {error.validator_value!r}", "string_pattern_mismatch"
    if kind == "enum":
        choices = ", ".join(repr(choice) for choice in cast(list[Any], error.validator_value))
        return f"Input should be one of {choices}", "enum"
    if kind == "format":
        return f"Input should be a valid {error.validator_value}", f"{error.validator_value}_format"
    return _short(error.message), kind


def _first(value: object) -> str:
    if isinstance(value, list) and value:
        return str(value[0])
    return str(value)


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _issues(validator: Draft202012Validator, value: object, loc: Sequence[str | int]) -> list[ValidationIssue]:
    issues = []
    for error in sorted(validator.iter_errors(value), key=lambda error: list(map(str, error.absolute_path))):
        path = [*loc, *error.absolute_path]
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            # jsonschema reports the object once; FastAPI points at each extra field.
            known = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
            for extra in sorted(set(error.instance) - known):
                issues.append(
                    {"loc": [*path, extra], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
                )
            continue
        if error.validator == "required":
            # jsonschema reports the object; FastAPI points at the missing field.
            missing = re.match(r"^'(.*)' is a required property$", error.message)
            if missing:
                path.append(missing.group(1))
        msg, kind = _message(error)
        issues.append({"loc": path, "msg": msg, "type": kind})
    return issues


@attrs.frozen
class Parameter:
    """One path or header parameter of an operation, with the validator of its schema."""

    name: str
    location: str
    required: bool
    validator: Draft202012Validator


@attrs.frozen
class Operation:
    """One operation of the spec: where it lives and how to check what it receives."""

    operation_id: str
    method: str
    path: str
    parameters: tuple[Parameter, ...]
    body_validator: Draft202012Validator | None
    body_required: bool

    def check_body(self, value: object) -> list[ValidationIssue]:
        if self.body_validator is None:
            return []
        return _issues(self.body_validator, value, ("body",))

    def check_parameters(self, path_params: Mapping[str, str], headers: Mapping[str, str]) -> list[ValidationIssue]:
        issues: list[ValidationIssue] = []
        for parameter in self.parameters:
            source = path_params if parameter.location == "path" else headers
            key = parameter.name if parameter.location == "path" else parameter.name.lower()
            if key not in source:
                if parameter.required:
                    issues.append(
                        {"loc": [parameter.location, parameter.name], "msg": "Field required", "type": "missing"}
                    )
                continue
            issues.extend(_issues(parameter.validator, source[key], (parameter.location, parameter.name)))
        return issues


class Spec:
    """The loaded document, its operations and validators for its components."""

    def __init__(self, document: dict[str, Any], source: str = "") -> None:
        self.document = document
        self.source = source  # the YAML text, served as /openapi.yaml
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._component_validators: dict[str, Draft202012Validator] = {}
        self._shapers: dict[tuple[str, bool], Shaper] = {}
        self.operations = {operation.operation_id: operation for operation in self._read_operations()}

    def validator(self, pointer: str) -> Draft202012Validator:
        """A validator for the schema at a JSON pointer into the document, e.g. `/components/schemas/X`."""
        return Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=self._registry, format_checker=FORMATS)

    def operation(self, operation_id: str) -> Operation:
        return self.operations[operation_id]

    def check_component(self, name: str, value: object, loc: Sequence[str | int] = ()) -> list[ValidationIssue]:
        """Validation issues of `value` against `#/components/schemas/<name>`."""
        if name not in self._component_validators:
            self._component_validators[name] = self.validator(f"/components/schemas/{_escape(name)}")
        return _issues(self._component_validators[name], value, loc)

    def shape(self, component: str, known: Mapping[str, Any], *, every_property: bool = False) -> dict[str, Any]:
        """`#/components/schemas/<component>` as the server sends it, from the values it knows.

        Each property the schema defines: its known value, else (when required, or always with
        `every_property`) a default: the schema's `default`, else `null` where the schema allows
        it, else the simplest value of its type. Known values the schema does not define are left
        out. Nested objects with `properties` are shaped the same way (required ones filled).
        """
        key = (component, every_property)
        if key not in self._shapers:
            schema = self._deref(self.document["components"]["schemas"].get(component))
            if not isinstance(schema, dict):  # the spec no longer describes it: sent as known
                return dict(known)
            self._shapers[key] = self._shaper(schema, every_property, 0)
        return self._shapers[key](known)

    @cached_property
    def stream_event_types(self) -> frozenset[str]:
        """The `event` names `StreamEvent` defines (the `const` of each branch); empty when it names none."""
        schema = self._deref(self.document["components"]["schemas"].get("StreamEvent", {}))
        branches = [self._deref(branch) for branch in _branches(schema) or [schema]]
        return frozenset(
            branch["properties"]["event"]["const"]
            for branch in branches
            if "const" in branch.get("properties", {}).get("event", {})
        )

    def default_value(self, schema: Any, depth: int = 0) -> Any:
        """A value valid for `schema` (a JSON Schema of the spec's kind) that carries no information."""
        schema = self._deref(schema)
        if not isinstance(schema, dict) or depth > MAX_SHAPE_DEPTH:
            return None
        if "default" in schema:
            return copy.deepcopy(schema["default"])
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        branches = [self._deref(branch) for branch in _branches(schema)]
        kinds = schema.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
        if "null" in kinds or any(isinstance(b, dict) and b.get("type") == "null" for b in branches):
            return None
        if "enum" in schema:
            return copy.deepcopy(schema["enum"][0])
        if branches:
            return self.default_value(branches[0], depth + 1)
        kind = kinds[0] if kinds else None
        if kind == "string":
            if schema.get("format") == "date-time":
                return EPOCH
            if schema.get("format") == "uri":
                return "about:blank"
            return "x" * int(schema.get("minLength", 0))
        if kind in ("integer", "number"):
            if "minimum" in schema:
                return schema["minimum"]
            if "exclusiveMinimum" in schema:
                return schema["exclusiveMinimum"] + 1
            return 0
        if kind == "boolean":
            return False
        if kind == "array":
            return []
        if kind == "object" or "properties" in schema:
            return self._shaper(schema, False, depth + 1)({})
        return None  # no type: any JSON value, null included

    def _deref(self, schema: Any) -> Any:
        while isinstance(schema, dict) and "$ref" in schema:
            schema = self._resolve(schema)[0]
        return schema

    def _object_schema(self, schema: Any) -> dict[str, Any] | None:
        """The object schema with `properties` that `schema` is, or one of its oneOf/anyOf branches is."""
        schema = self._deref(schema)
        if not isinstance(schema, dict):
            return None
        if "properties" in schema:
            return schema
        for branch in map(self._deref, _branches(schema)):
            if isinstance(branch, dict) and "properties" in branch:
                return branch
        return None

    def _shaper(self, schema: dict[str, Any], every_property: bool, depth: int) -> Shaper:
        required = set(schema.get("required", []))
        plan: list[tuple[str, Shaper | None, Any]] = []
        for name, property_schema in schema.get("properties", {}).items():
            nested = self._object_schema(property_schema) if depth < MAX_SHAPE_DEPTH else None
            nested_shaper = self._shaper(nested, False, depth + 1) if nested is not None else None
            filled = every_property or name in required
            plan.append((name, nested_shaper, self.default_value(property_schema, depth + 1) if filled else _ABSENT))

        def shape(known: Mapping[str, Any]) -> dict[str, Any]:
            shaped: dict[str, Any] = {}
            for name, nested_shaper, default in plan:
                if name in known:
                    value = known[name]
                    shaped[name] = nested_shaper(value) if nested_shaper and isinstance(value, dict) else value
                elif default is not _ABSENT:
                    shaped[name] = copy.deepcopy(default)
            return shaped

        return shape

    def route_templates(self) -> list[tuple[str, str]]:
        """Every (METHOD, path template) the spec documents."""
        return [(operation.method.upper(), operation.path) for operation in self.operations.values()]

    def _resolve(self, node: Any) -> tuple[Any, str | None]:
        """Follow a local `$ref` (one level is all the spec uses for parameters and bodies)."""
        if isinstance(node, dict) and "$ref" in node:
            pointer = str(node["$ref"]).removeprefix("#")
            target: Any = self.document
            for part in pointer.strip("/").split("/"):
                target = target[_unescape(part)]
            return target, pointer
        return node, None

    def _read_operations(self) -> Iterator[Operation]:
        for path, item in self.document["paths"].items():
            shared = item.get("parameters", [])
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                op = item[method]
                op_pointer = f"/paths/{_escape(path)}/{method}"
                parameters = []
                sources = (
                    (f"/paths/{_escape(path)}/parameters", shared),
                    (f"{op_pointer}/parameters", op.get("parameters", [])),
                )
                for base, entries in sources:
                    for index, entry in enumerate(entries):
                        parameter, pointer = self._resolve(entry)
                        parameters.append(
                            Parameter(
                                name=parameter["name"],
                                location=parameter["in"],
                                required=bool(parameter.get("required", False)),
                                validator=self.validator(f"{pointer or f'{base}/{index}'}/schema"),
                            )
                        )
                body_validator = None
                body_required = False
                if "requestBody" in op:
                    body, pointer = self._resolve(op["requestBody"])
                    pointer = pointer or f"{op_pointer}/requestBody"
                    body_required = bool(body.get("required", False))
                    body_validator = self.validator(f"{pointer}/content/application~1json/schema")
                yield Operation(
                    operation_id=op["operationId"],
                    method=method,
                    path=path,
                    parameters=tuple(parameters),
                    body_validator=body_validator,
                    body_required=body_required,
                )


def _branches(schema: dict[str, Any]) -> list[Any]:
    """The alternatives of a `oneOf` / `anyOf` schema; [] for any other."""
    return list(schema.get("oneOf") or schema.get("anyOf") or [])


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def find_spec_file() -> Path:
    for location in SPEC_LOCATIONS:
        if location.is_file():
            return location
    raise FileNotFoundError(f"openapi.yaml not found in any of {[str(location) for location in SPEC_LOCATIONS]}")


@cache
def load_spec(path: Path | None = None) -> Spec:
    """The parsed spec (cached: validators are built once per process)."""
    source = (path or find_spec_file()).read_text(encoding="utf-8")
    return Spec(yaml.safe_load(source), source)
