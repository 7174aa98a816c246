"""The browsable API reference: scripts/docs builds it, the mock server serves it at /docs, and
headless Chromium renders every operation, schema and example with a clean console.

Needs node_modules (`python3 scripts/dev setup`) and Chromium (Debian's `chromium` package; or set
CHROMIUM to a Chrome or Chromium binary). Without them these tests fail and say so: they never skip.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from inference_api_mock.app import DOCS_PAGE
from inference_api_mock.testing import MockServer
from tests.openapi_document import SPEC, example_values, operations
from tests.script_module import load_script

from .conftest import KEPT

ROOT = Path(__file__).resolve().parents[2]
DOCS_SCRIPT = ROOT / "scripts" / "docs"
RENDER = Path(__file__).with_name("render_page.mjs")
SCREENSHOT = ROOT / "build" / "test-artifacts" / "api-reference.png"


def notes(node: Any) -> list[str]:
    """The text of every `x-guide` / `x-assumed` note in the spec."""
    if isinstance(node, list):
        return [note for item in node for note in notes(item)]
    if not isinstance(node, dict):
        return []
    found = [value.strip() for key, value in node.items() if key in ("x-guide", "x-assumed") and isinstance(value, str)]
    return found + [note for key, value in node.items() if key not in ("example", "examples") for note in notes(value)]


def longest_text(value: Any) -> str:
    texts: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            texts.append(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return max(texts, key=len)


def required_tool(name: str, *candidates: str, hint: str) -> str:
    for candidate in (os.environ.get(name.upper(), ""), *candidates):
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    pytest.fail(f"{name} not found: {hint}")


@pytest.fixture(scope="session")
def built_page() -> Path:
    """`scripts/docs`, as `python3 scripts/dev docs` runs it: build/docs/index.html."""
    result = subprocess.run([sys.executable, str(DOCS_SCRIPT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert DOCS_PAGE.stat().st_size > 100_000
    return DOCS_PAGE


def test_the_spec_passes_redocly_lint() -> None:
    result = subprocess.run([sys.executable, str(DOCS_SCRIPT), "--lint"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors, 0 warnings" in result.stdout


def test_the_page_loads_nothing_from_elsewhere(built_page: Path) -> None:
    page = built_page.read_text()
    assert "cdn.redoc.ly" not in page and "fonts.googleapis" not in page
    assert '<link rel="icon" href="data:,"' in page


def test_the_mock_server_serves_the_reference_at_docs(built_page: Path, mock_server: MockServer) -> None:
    response = httpx.get(f"{mock_server.base_url}/docs", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.content == built_page.read_bytes()


def test_the_design_document_follows_the_introduction(tmp_path: Path) -> None:
    script = load_script(DOCS_SCRIPT)
    script.DESIGN = tmp_path / "design.md"
    folded = copy.deepcopy(SPEC)
    script.fold_notes(folded)
    plain = yaml.safe_load(script.spec_for_docs(tmp_path).read_text())
    assert plain == folded, "without a design document: the spec with its notes shown"
    script.DESIGN.write_text("# Design\n\nAssumption: predictions are kept for an hour.\n")
    derived = yaml.safe_load(script.spec_for_docs(tmp_path).read_text())
    description = derived["info"]["description"]
    assert description.startswith(folded["info"]["description"].rstrip())
    assert description.endswith("# Design\n\nAssumption: predictions are kept for an hour.\n")
    assert derived["paths"].keys() == SPEC["paths"].keys()


def test_x_notes_are_shown_under_each_elements_description() -> None:
    script = load_script(DOCS_SCRIPT)
    spec: dict[str, Any] = {
        "paths": {
            "/p": {
                "get": {
                    "summary": "s",
                    "x-guide": "GET /p/<id> `<id>` the guide shows it",
                    "responses": {"200": {"description": "OK.", "x-assumed": "A3: 200."}},
                }
            }
        },
        "components": {
            "schemas": {
                "S": {
                    "type": "object",
                    "x-assumed": "A6: five statuses.",
                    "x-displayName": "Kept for Redoc",
                    "properties": {"a": {"type": "string", "example": {"x-assumed": "data, not a note"}}},
                }
            }
        },
    }
    script.fold_notes(spec)
    operation = spec["paths"]["/p"]["get"]
    assert operation["description"] == "**From the guide:** GET /p/&lt;id&gt; `<id>` the guide shows it\n"
    assert operation["responses"]["200"]["description"] == "OK.\n\n**Assumed:** A3: 200.\n"
    schema = spec["components"]["schemas"]["S"]
    assert schema["description"] == "**Assumed:** A6: five statuses.\n"
    assert schema["properties"]["a"]["example"] == {"x-assumed": "data, not a note"}


def test_the_reference_renders_in_headless_chromium(built_page: Path, mock_server: MockServer) -> None:
    dev = load_script(ROOT / "scripts" / "dev")  # found as `scripts/dev test` checks for it first
    chromium = dev.find_chromium() or pytest.fail(f"Chromium not found: {dev.CHROMIUM_HINT}")
    node = required_tool("node", "node", hint="install Node.js 20 or newer")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [node, str(RENDER), f"{mock_server.base_url}/docs", str(SCREENSHOT), chromium],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    KEPT.append(SCREENSHOT)
    print(f"screenshot of the rendered reference: {SCREENSHOT}")

    assert report["console"] == [], "the console shows no error or warning"
    assert report["pageErrors"] == [] and report["failedRequests"] == []
    assert report["foreignRequests"] == [], "the page asks nothing of another origin"
    text = report["text"]
    for operation in operations():
        assert operation["summary"] in text, operation["operationId"]
    menu = {entry.split("\n")[0] for entry in report["menu"]}
    assert set(SPEC["components"]["schemas"]) <= menu, "every schema has its entry"
    for value in example_values():
        assert longest_text(value) in text
    # The notes of operations and schemas are shown with them (those of responses and headers
    # too, once their tab is selected: this test does not click them).
    shown = re.sub(r"\s+", " ", text)
    elements = [*operations(), *SPEC["components"]["schemas"].values()]
    own_notes = [element[key].strip() for element in elements for key in ("x-guide", "x-assumed") if key in element]
    for note in own_notes:
        assert re.sub(r"\s+", " ", note.replace("`", "")) in shown, f"the x- note {note!r} is shown"
    design = ROOT / "docs" / "design.md"
    if design.exists():
        first_heading = next(line for line in design.read_text().splitlines() if line.startswith("#"))
        assert first_heading.lstrip("# ").strip() in text
    assert SCREENSHOT.stat().st_size > 10_000
