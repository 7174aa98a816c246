"""The `Prediction` fields the SDK reads, checked in one place against the generated model.

When openapi.yaml drops a field and the client is regenerated, two things catch it:

- mypy: the SDK reads each field as an attribute of the generated `Prediction` (here for `logs`,
  which it can do without; directly for the others), so a dropped one is a type error at once;
- at run time, before any prediction is used: `check_model()` (called where every prediction
  is parsed) raises `APIResponseError` naming a field the SDK needs that the model lacks, where
  a plain attribute read would raise `AttributeError` somewhere inside a wait. A dropped `logs`
  only means there are no logs to show: `logs_of` reads None.

    check_model()                    # APIResponseError when the model lacks a field in NEEDED
    logs_of(prediction)              # str | None, None when the model has no `logs`
"""

from __future__ import annotations

from functools import cache
from typing import Any

import attrs

from inference_api_client.models.prediction import Prediction

from .errors import APIResponseError

__all__ = ["NEEDED", "check_model", "has_field", "logs_of"]

# What calls, waits, streams and batches read; without any of them they cannot work.
NEEDED = ("id", "status", "output", "error", "urls")


@cache
def _field_names() -> frozenset[str]:
    return frozenset(field.alias or field.name for field in attrs.fields(Prediction))


def has_field(name: str) -> bool:
    """Whether the generated `Prediction` has this field (its keyword name, e.g. `logs`)."""
    return name in _field_names()


@cache
def _missing() -> tuple[str, ...]:
    return tuple(name for name in NEEDED if not has_field(name))


def check_model() -> None:
    """`APIResponseError` when the generated `Prediction` lacks a field this SDK reads (the spec dropped it)."""
    missing = _missing()
    if missing:
        raise APIResponseError(
            f"the generated Prediction has no {', '.join(repr(name) for name in missing)}: openapi.yaml no longer "
            "defines it, and this version of inference_api needs it (scripts/regenerate reported it BREAKING)"
        )


def logs_of(prediction: Prediction) -> str | None:
    """The prediction's logs; None when it has none, or the spec no longer defines `logs`."""
    if not has_field("logs"):
        return None
    logs: Any = prediction.logs  # a type error here: the spec dropped `logs` (remove this read)
    return logs if isinstance(logs, str) else None
