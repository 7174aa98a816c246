"""`python3 scripts/dev demo` runs the demo: it ends well and shows the calls, never a client repr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_runs_and_prints_no_repr() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo"), "--speed", "100"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("mock server at http://127.0.0.1:") and len(lines[0]) < 100
    assert "InferenceClient(" not in result.stdout and "_headers" not in result.stdout
    assert lines[-1].startswith("demo finished")
