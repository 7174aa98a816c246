"""Request bodies built from the generated request models, field by field.

`create`, `run` and `stream` take the request fields of `CreatePredictionRequest` / `RunRequest`
(beyond the ones they take positionally) as keyword arguments, required ones included, and the
CLI derives an option from each (a required option for a required field): when openapi.yaml
gains a request field and `scripts/regenerate` runs, the new field reaches the SDK and the CLI
with no hand edit.

    body = build_body(CreatePredictionRequest, {"version": v, "input": values}, {"stream": True}, "create")
    fields = request_fields(CreatePredictionRequest)   # RequestField(name, json_name, annotation, required, help)

Values may be given as the generated types or as their JSON form (`"start"` for
`WebhookEvent.START`): the body goes through the model's own `from_dict`, which converts them.
"""

from __future__ import annotations

import datetime
import enum
import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

import attrs

if TYPE_CHECKING:
    import argparse  # the CLI's; typing only

__all__ = ["RequestField", "add_request_options", "build_body", "request_fields", "request_options"]


class RequestModel(Protocol):
    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self: ...


Model = TypeVar("Model", bound=RequestModel)


@attrs.frozen
class RequestField:
    """One field of a generated request model."""

    name: str  # the Python keyword (`input_`)
    json_name: str  # the JSON property (`input`)
    annotation: str  # as generated, e.g. "list[WebhookEvent] | Unset"
    required: bool
    help: str

    @property
    def is_list(self) -> bool:
        return self.annotation.startswith("list[")

    @property
    def is_flag(self) -> bool:
        return self.annotation.split(" | ")[0] == "bool"

    @property
    def option(self) -> str:
        return "--" + self.json_name.replace("_", "-")


def _descriptions(model_class: type) -> dict[str, str]:
    """`name (type): description` entries of a generated model's docstring."""
    entries = re.findall(r"^\s+(\w+) \([^)]*\): (.+?)(?=\n\s+\w+ \(|\n\s*$|\Z)", model_class.__doc__ or "", re.M | re.S)
    return {name: " ".join(text.split()) for name, text in entries}


def request_fields(model_class: type) -> tuple[RequestField, ...]:
    """Every field of a generated request model, in declaration order."""
    descriptions = _descriptions(model_class)
    return tuple(
        RequestField(
            # The keyword `__init__` takes: an attribute may be private (`_stream`) behind a property.
            name=field.alias or field.name,
            # The generator appends "_" to names that are Python keywords or builtins (`input_`).
            json_name=(field.alias or field.name).removesuffix("_"),
            annotation=str(field.type),
            required=field.default is attrs.NOTHING,
            help=descriptions.get(field.alias or field.name, ""),
        )
        for field in attrs.fields(model_class)
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def build_body(model_class: type[Model], given: Mapping[str, Any], options: Mapping[str, Any], caller: str) -> Model:
    """The request model from the fields the caller takes positionally (`given`, JSON names) and
    keyword options (Python names): every other field of the model, required ones included.

    An option the model does not have is a TypeError naming it, as for any function, and so is a
    required field left out (before anything is sent); a value of the wrong kind is a ValueError
    from the model's `from_dict`.
    """
    fields = {field.name: field for field in request_fields(model_class) if field.json_name not in given}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        known = ", ".join(fields)
        raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r} (request fields: {known})")
    missing = [field.name for field in fields.values() if field.required and field.name not in options]
    if missing:
        raise TypeError(
            f"{caller}() is missing the required keyword argument {missing[0]!r} "
            f"(a required field of {model_class.__name__} in openapi.yaml)"
        )
    body = dict(given) | {fields[name].json_name: _json_value(value) for name, value in options.items()}
    try:
        return model_class.from_dict(body)
    except KeyError as missing_key:
        raise TypeError(f"{caller}() is missing the required request field {missing_key.args[0]!r}") from None


# The command line: one option per request field.


def _cli_value(raw: str) -> Any:
    """JSON when it parses (numbers, true, lists), text otherwise: as `-i key=value`."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _enum_values(field: RequestField, model_class: type) -> list[str]:
    """The accepted values of a field typed with a generated enum (`list[WebhookEvent] | Unset`), else []."""
    import sys

    names = re.findall(r"\b[A-Z]\w*", field.annotation)
    module = sys.modules.get(model_class.__module__)
    for name in names:
        candidate = getattr(module, name, None)
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return [str(member.value) for member in candidate]
    return []


def add_request_options(parser: argparse.ArgumentParser, model_class: type, skip: Sequence[str] = ()) -> None:
    """An option for every field of `model_class` not in `skip` (Python names of fields that have an
    argument or option already, such as the positional `version` and `-i` for `input_`).

    A required field is a required option: argparse refuses the command without it.
    """
    for field in request_fields(model_class):
        if field.name in skip:
            continue
        dest = f"request_field_{field.name}"
        help_text = f"{field.help} (request field {field.json_name!r}{', required' if field.required else ''})"
        help_text = help_text.strip()
        values = _enum_values(field, model_class)
        if values:
            help_text += f"; one of: {', '.join(values)}"
        # A field named like one of the command's own options (`--timeout`) gets a prefixed option.
        option = field.option if field.option not in parser._option_string_actions else f"--body-{field.option[2:]}"
        if field.is_flag and not field.required:
            parser.add_argument(option, dest=dest, action="store_true", default=None, help=help_text)
            continue
        action = "append" if field.is_list else "store"
        help_text += "; repeatable" if field.is_list else ""
        parser.add_argument(
            option,
            dest=dest,
            action=action,
            type=_cli_value,
            metavar="VALUE",
            required=field.required,
            help=help_text,
        )


def request_options(args: argparse.Namespace) -> dict[str, Any]:
    """The request fields given on the command line, by Python field name."""
    prefix = "request_field_"
    return {
        name.removeprefix(prefix): value
        for name, value in vars(args).items()
        if name.startswith(prefix) and value is not None
    }
