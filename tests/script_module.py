"""Scripts (the extension-less ones of scripts/, those of examples/) imported as modules, for tests."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path
from typing import Any


def load_script(path: Path) -> Any:  # a module whose names mypy does not know
    """A new module object for the script at `path` (its `if __name__ == "__main__"` part does not run)."""
    name = f"script_{path.name}"
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module
