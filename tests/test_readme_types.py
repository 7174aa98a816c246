"""The README's Python blocks, and a user's typical script, pass `mypy --strict` and pyright strict.

Reading a `Prediction` never meets `Unset` (every field the server always sends is `required` in
openapi.yaml, docs/design.md): `"".join(run(...).output)` and `error: str | None = prediction.error`
type-check as written. The blocks are checked as a reader pastes them (tests/readme_blocks.py): the
session in order as one module, each pytest module on its own. Pyright comes from node_modules
(package.json; `python3 scripts/dev setup`): without it, that test fails and says so.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.readme_blocks import ROOT, readme_test_modules, run_blocks, session

USER_SCRIPT = """
from inference_api import PredictionError, WaitTimeoutError, connect, create, get, run, wait

MISTRAL = "mistralai/mistral-7b-instruct-v0.1:5fe0a3d7ac2852264a25279d1dfb798acbc4d49711d126646594e212cb821749"

client = connect()
text: str = "".join(run(client, MISTRAL, {"prompt": "A haiku"}).output)
prediction = get(client, create(client, MISTRAL, {"prompt": "Hi"}).id)
error: str | None = prediction.error
logs: str | None = prediction.logs
model: str | None = prediction.model
seconds: float | None = prediction.metrics.predict_time if prediction.metrics else None
finished = prediction.completed_at.isoformat() if prediction.completed_at else "not yet"
try:
    wait(client, prediction.id, timeout=60)
except PredictionError as e:  # PredictionCanceledError too: both always carry the prediction
    failed_id: str = e.prediction.id
    reason: str | None = e.prediction.error
except WaitTimeoutError as e:  # None when the deadline passed before the first answer
    last_status = e.prediction.status if e.prediction is not None else "no answer yet"
"""


def readme_sources() -> dict[str, str]:
    return {"readme_session.py": session(), **readme_test_modules()}


def test_the_readme_examples_and_a_users_script_pass_mypy_strict(tmp_path: Path) -> None:
    assert len(run_blocks("python")) >= 8, "the README lost its examples"
    files = {**readme_sources(), "user_script.py": USER_SCRIPT}
    for name, source in files.items():
        (tmp_path / name).write_text(source)
    # From the repository root: mypy's settings in pyproject.toml apply, and its cache is warm.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", *(str(tmp_path / name) for name in files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not re.search(r"\bcast\(|type: ignore", "\n".join(files.values())), "no casts, no ignores"


def test_the_readme_examples_and_a_users_script_pass_pyright_strict(tmp_path: Path) -> None:
    pyright = ROOT / "node_modules" / ".bin" / "pyright"
    if not pyright.exists():
        pytest.fail(f"{pyright} not found: run `python3 scripts/dev setup` (npm ci) first")
    files = {**readme_sources(), "user_script.py": USER_SCRIPT}
    for name, source in files.items():
        (tmp_path / name).write_text(source)
    config = {"typeCheckingMode": "strict", "pythonVersion": "3.11", "reportMissingModuleSource": "error"}
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config))
    # This environment's python: pyright finds the three packages through its editable install.
    result = subprocess.run(
        [str(pyright), "--outputjson", "--pythonpath", sys.executable, str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stdout)
    problems = [f"{d['file']}:{d['range']['start']['line'] + 1}: {d['message']}" for d in report["generalDiagnostics"]]
    assert report["summary"]["filesAnalyzed"] == len(files)
    assert problems == [] and result.returncode == 0, "\n".join(problems) or result.stderr
