"""scripts/regenerate, imported as a module (it has no .py suffix). Not a test module."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "regenerate"


@cache
def regenerate_module() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("regenerate_script", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module
