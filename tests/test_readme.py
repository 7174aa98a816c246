"""Every Python and shell block of README.md runs exactly as written, from an empty temporary folder.

Python runs with this virtual environment's python; shell blocks with bash, this environment's
bin first on PATH (so `python` and `inference-api` are the installed ones), with `-e -o pipefail`
(stricter than a terminal: any failing command fails the test). Nothing is set up beforehand: the
blocks start the mock server themselves. How the blocks group: tests/readme_blocks.py.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from inference_api_mock.models import FAIL_MESSAGE
from tests.readme_blocks import NOT_RUN, ROOT, blocks, readme_test_modules, run_blocks, session

BIN = Path(sys.executable).parent
TIMEOUT_SECONDS = 90


def run(command: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    """Run `command` in `folder` in a process group of its own; nothing of it outlives this call."""
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for name in ("INFERENCE_API_TOKEN", "INFERENCE_API_BASE_URL", "PYTHONPATH"):
        environment.pop(name, None)
    process = subprocess.Popen(
        command,
        cwd=folder,
        env=environment,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=TIMEOUT_SECONDS)
    finally:
        leftover = _kill_group(process.pid)
    assert not leftover, f"{command}: left processes running (killed now)\n{err}"
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def _kill_group(group: int) -> bool:
    """Kill what is left of the process group; whether anything was."""
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def test_the_readme_is_short() -> None:
    # Users read it top to bottom; maintainer material goes to docs/development.md.
    assert len((ROOT / "README.md").read_text().splitlines()) <= 300


def test_every_block_is_run_or_says_why_not() -> None:
    found = blocks()
    assert {block.language for block in found} == {"python", "sh"}, "a block in another language runs nowhere"
    for block in found:
        if block.not_run is not None:
            lines = [line for line in block.code.splitlines() if line.strip()]
            first = next((prefix for prefix in NOT_RUN if lines[0].startswith(prefix)), None)
            assert first is not None, f"README.md line {block.line}: only {list(NOT_RUN)} blocks may be skipped"
            assert all(line.startswith(first) for line in lines), f"README.md line {block.line}: mixes commands"
    assert len(run_blocks("python")) >= 8 and len(run_blocks("sh")) >= 1, "the README lost its examples"


def test_the_quickstart_runs_alone(tmp_path: Path) -> None:
    quickstart = run_blocks("python")[0].code
    (tmp_path / "quickstart.py").write_text(quickstart)
    result = run([sys.executable, "quickstart.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    status, _, text = result.stdout.strip().partition(" ")
    assert status == "succeeded" and len(text.split()) >= 5, result.stdout
    assert result.stderr == "", "the mock server stops quietly when Python exits"


def test_the_python_blocks_run_in_order_as_one_session(tmp_path: Path) -> None:
    (tmp_path / "readme_session.py").write_text(session())
    result = run([sys.executable, "readme_session.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "succeeded" in out, "wait's on_update printed the statuses"
    assert f"failed: {FAIL_MESSAGE}" in out, "the errors example caught PredictionError"
    assert "404 " in out, "the errors example printed the status of a missing prediction"
    assert "canceled" in out, "the cancel example printed the canceled status"
    assert (tmp_path / "video.mp4").stat().st_size > 0, "the download example saved the video"
    results = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [result["status"] for result in results] == ["succeeded"] * 3, "the batch wrote its results"


def test_the_test_module_passes_under_pytest(tmp_path: Path) -> None:
    modules = readme_test_modules()
    assert modules, "the README lost its pytest example"
    for name, code in modules.items():
        (tmp_path / name).write_text(code)
        result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", name], tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert " passed" in result.stdout and "failed" not in result.stdout, result.stdout


@pytest.mark.parametrize("number", range(len(run_blocks("sh"))))
def test_the_shell_blocks_run_and_clean_up(tmp_path: Path, number: int) -> None:
    block = run_blocks("sh")[number]
    (tmp_path / "block.sh").write_text(block.code)
    result = run(["bash", "-e", "-o", "pipefail", "block.sh"], tmp_path)
    assert result.returncode == 0, f"README.md line {block.line}\n{result.stdout}\n{result.stderr}"
    if "inference-api batch" in block.code:
        results = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
        assert results and all(result["status"] == "succeeded" for result in results)
    if "inference-api cancel" in block.code:
        assert '"status": "canceled"' in result.stdout, "the cancel example canceled a running prediction"
    if "inference-api download" in block.code:
        assert (tmp_path / "video.mp4").stat().st_size > 0


def test_the_readme_and_the_development_page_link_to_files_that_exist() -> None:
    for page in (ROOT / "README.md", ROOT / "docs" / "development.md"):
        targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text())
        local = [target for target in targets if not target.startswith(("http://", "https://"))]
        assert local, f"{page.name} links to nothing of the repository"
        missing = [target for target in local if not (page.parent / target).exists()]
        assert missing == [], f"{page.name} links to files that do not exist"
    readme = (ROOT / "README.md").read_text()
    assert "](docs/development.md)" in readme and "](BENCHMARKS.md)" in readme
