"""generated_client/inference_api_client/ is exactly what openapi.yaml and the generator config produce."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def regenerate_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "regenerate"), "--check", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_generated_client_is_up_to_date() -> None:
    result = regenerate_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_a_hand_edit_fails_the_check_with_a_readable_diff(tmp_path: Path) -> None:
    copy = tmp_path / "inference_api_client"
    shutil.copytree(
        ROOT / "generated_client" / "inference_api_client", copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    edited = copy / "models" / "prediction.py"
    edited.write_text(edited.read_text().replace("class Prediction:", "class Prediction:  # hand edit"))
    (copy / "models" / "stray.py").write_text("x = 1\n")

    result = regenerate_check("--target", str(copy))

    assert result.returncode == 1
    assert "-class Prediction:  # hand edit" in result.stdout
    assert "+class Prediction:" in result.stdout
    assert "generated_client/inference_api_client/models/stray.py (on disk)" in result.stdout
    assert "never the generated files" in result.stderr


def test_generated_package_is_typed() -> None:
    assert (ROOT / "generated_client" / "inference_api_client" / "py.typed").exists()


def test_the_summary_lists_operations_and_fields_added_removed_and_retyped_breaking_ones_marked() -> None:
    from tests.spec.regenerate_script import regenerate_module

    regenerate = regenerate_module()
    model = "from attrs import define\n\n@define\nclass Request:\n    version: str\n{}"
    operation = "def sync(*, client: Client, body: Request) -> Response | None:\n    pass\n"
    old = {
        "models/request.py": model.format("    stream: bool | Unset = False\n    seed: int | Unset = UNSET\n"),
        "api/predictions/create.py": operation,
        "api/predictions/old.py": operation,
    }
    new = {
        # An optional field is stored as `_name` behind a property (templates/model.py.jinja): named `name`.
        "models/request.py": model.format("    _stream: str | Unset = False\n    _priority: int | Unset = UNSET\n"),
        "models/event.py": "class Event(StrEnum):\n    START = 'start'\n",
        "api/predictions/create.py": operation.replace("body: Request)", "body: Request, tag: str)"),
    }
    changes = regenerate.api_changes(regenerate.public_api(old), regenerate.public_api(new))
    assert changes == [
        "- operation predictions.old removed  BREAKING",
        "+ model Event added",
        "- model Request: seed removed  BREAKING",
        "+ model Request: priority added (int | Unset, optional)",
        "~ model Request: stream retyped bool | Unset -> str | Unset  BREAKING",
        "+ operation predictions.create: tag added (str, required)  BREAKING",
    ]
    assert regenerate.api_changes(regenerate.public_api(old), regenerate.public_api(old)) == []
