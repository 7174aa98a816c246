"""The user's API guide (docs/api-guide.md, a copy of the seed), read as test data."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

GUIDE = (Path(__file__).resolve().parents[1] / "docs" / "api-guide.md").read_text()


def guide_payloads() -> list[dict[str, Any]]:
    """The JSON bodies of the guide's create, run and run_sse snippets, in that order."""
    bodies = re.findall(r"payload = json\.dumps\((\{.*?\n\})\)", GUIDE, flags=re.DOTALL)
    assert len(bodies) == 3, "the guide has three calls with a JSON body"
    return [ast.literal_eval(body) for body in bodies]


def guide_snippets() -> list[str]:
    """The guide's five Python snippets, as written."""
    snippets = re.findall(r"```python\n(import requests.*?)```", GUIDE, flags=re.DOTALL)
    assert len(snippets) == 5
    return snippets
