"""openapi.yaml as tests read it (not a test module): the document, its operations, its examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace", "query"}


def operations() -> list[dict[str, Any]]:
    return [operation for path in SPEC["paths"].values() for method, operation in path.items() if method in METHODS]


def example_values() -> list[Any]:
    """The value of every named example in the spec (media types' `examples`)."""
    found: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "examples" and isinstance(value, dict):
                    found.extend(example["value"] for example in value.values() if "value" in example)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(SPEC)
    return found
