"""Names a module imports on first use (PEP 562), so that importing it costs next to nothing."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(module_name: str, sources: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__`: a name in `sources` comes from the module given there (relative to the
    module's package), imported on first access and then kept, so that later lookups skip it."""

    def __getattr__(name: str) -> Any:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        module = sys.modules[module_name]
        value = getattr(importlib.import_module(source, module.__package__), name)
        setattr(module, name, value)
        return value

    return __getattr__
