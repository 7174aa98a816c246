"""The README's Python examples, and a user's typical script, pass `mypy --strict` without casts.

Reading a `Prediction` never meets `Unset` (every field the server always sends is `required` in
openapi.yaml, docs/design.md): `"".join(run(...).output)` and `error: str | None = prediction.error`
type-check as written. The README's blocks are checked as one user would paste them: the
generated-client quickstart on its own, the rest in order in one module.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()

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


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_the_readme_examples_and_a_users_script_pass_mypy_strict(tmp_path: Path) -> None:
    quickstart, *sdk = python_blocks()
    assert "inference_api_client" in quickstart and len(sdk) >= 8, "the README lost its examples"
    files = {"readme_quickstart.py": quickstart, "readme_sdk.py": "\n".join(sdk), "user_script.py": USER_SCRIPT}
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
