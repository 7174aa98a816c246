"""A copy of the repository in which openapi.yaml is changed and the client regenerated (not a test module).

What a maintainer does after a vendor changes the API, without touching the checkout:

    root = repository_copy(tmp_path)
    change_spec(root, old_text, new_text)        # exactly one occurrence of `old_text`
    regenerated = regenerate(root)               # scripts/regenerate of the copy; its summary in .stdout
    result = run_python(root, "print(1)")        # the copy's packages first on the path

The copy holds the sources (SDK, generated client, mock server, tests, scripts, templates) and
the configuration; the checkout's virtual environment runs it, with PYTHONPATH pointing at the
copy's source roots, which come before the editable install's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_ROOTS = ("generated_client", "extensions", "mock_server")
COPIED = (*SOURCE_ROOTS, "tests", "scripts", "templates", "examples")
COPIED_FILES = ("openapi.yaml", "openapi-python-client.yaml", "pyproject.toml", "README.md")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache", ".ruff_cache")
# The generator and its hooks take ~10 s on an idle machine; the CI machine is shared.
REGENERATE_TIMEOUT = 300


def repository_copy(destination: Path) -> Path:
    root = destination / "repository"
    for name in COPIED:
        shutil.copytree(ROOT / name, root / name, ignore=IGNORED)
    for name in COPIED_FILES:
        shutil.copy2(ROOT / name, root / name)
    return root


def change_spec(root: Path, old: str, new: str) -> None:
    spec = root / "openapi.yaml"
    text = spec.read_text()
    assert text.count(old) == 1, f"openapi.yaml changed: {old!r} is no longer there exactly once"
    spec.write_text(text.replace(old, new))


def regenerate(root: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(root / "scripts" / "regenerate")],
        capture_output=True,
        text=True,
        timeout=REGENERATE_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def environment(root: Path) -> dict[str, str]:
    """The copy's source roots and root first on the path; no user credentials."""
    path = [str(root / name) for name in SOURCE_ROOTS] + [str(root)]
    base = {k: v for k, v in os.environ.items() if k not in ("INFERENCE_API_TOKEN", "INFERENCE_API_BASE_URL")}
    return base | {"PYTHONPATH": os.pathsep.join(path), "PYTHONDONTWRITEBYTECODE": "1"}


def run_python(root: Path, script: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`script` in a fresh interpreter on the copy (-P: not the current directory first)."""
    return subprocess.run(
        [sys.executable, "-P", "-c", script],
        cwd=root,
        env=environment(root),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_module(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`python -m <args>` on the copy, from its root (pytest, mypy)."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=root,
        env=environment(root),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
