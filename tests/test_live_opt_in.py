"""Live tests start only when asked for with --live, never because a user's CLI token is set.

INFERENCE_API_TOKEN and INFERENCE_API_BASE_URL are what the README tells CLI users to export; if a
test went live on them, `scripts/dev test` would create real predictions on the user's account.
Live tests read INFERENCE_API_LIVE_BASE_URL / INFERENCE_API_LIVE_TOKEN and run only with --live
(tests/conftest.py), and the test session drops the ordinary variables before collection, so no
test can pick up the user's real credentials by way of connect() either.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.recording_server import RecordingServer

ROOT = Path(__file__).resolve().parents[1]
ORDINARY = ("INFERENCE_API_TOKEN", "INFERENCE_API_BASE_URL")


@pytest.mark.timeout(600)
def test_the_contract_tests_send_nothing_to_the_ordinary_variables() -> None:
    with RecordingServer(status=200, body={}) as trap:
        environment = {name: value for name, value in os.environ.items() if not name.startswith("INFERENCE_API_")}
        environment |= {"INFERENCE_API_TOKEN": "trap-token", "INFERENCE_API_BASE_URL": trap.base_url}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/contract", "-q", "-rs", "-p", "no:cacheprovider", "-n", "0",
             "--st-max-examples", "5"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "live test: runs only with --live" in result.stdout, "the live tests were collected and skipped"
    assert trap.requests == [], f"the contract tests contacted $INFERENCE_API_BASE_URL: {trap.requests[:3]}"


def _string_constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _reads_of_the_environment(tree: ast.Module) -> list[tuple[int, ast.expr]]:
    """(line, name argument) of os.environ.get(...), os.getenv(...) and os.environ[...] reads."""
    reads: list[tuple[int, ast.expr]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            owner = ast.unparse(node.func.value)
            if (owner == "os.environ" and node.func.attr == "get") or (owner == "os" and node.func.attr == "getenv"):
                reads.append((node.lineno, node.args[0]))
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            reads += [(node.lineno, node.slice)] if ast.unparse(node.value) == "os.environ" else []
    return reads


def test_no_test_reads_the_ordinary_variables() -> None:
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _string_constants(tree)
        for line, argument in _reads_of_the_environment(tree):
            name = constants.get(argument.id) if isinstance(argument, ast.Name) else None
            if isinstance(argument, ast.Constant):
                name = str(argument.value)
            if name in ORDINARY:
                offenders.append(f"{path.relative_to(ROOT)}:{line} reads {name}")
    assert offenders == [], "tests must not decide anything from the CLI's variables: " + "; ".join(offenders)


def test_the_test_session_does_not_see_the_ordinary_variables() -> None:
    # tests/conftest.py drops them before collection: connect() inside a test cannot find them.
    assert not set(ORDINARY) & set(os.environ)
