"""tests/interrupts.py: a test's Ctrl-C lands inside its block, or nowhere."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.interrupts import ctrl_c_after

ROOT = Path(__file__).resolve().parent.parent


def test_the_interrupt_lands_inside_the_block() -> None:
    before = signal.getsignal(signal.SIGINT)
    with ctrl_c_after(0.05), pytest.raises(KeyboardInterrupt):
        time.sleep(30)
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.parametrize("ending", ["returns", "raises"])
def test_a_block_that_ends_first_gets_no_interrupt_later(ending: str) -> None:
    expected = pytest.raises(ZeroDivisionError) if ending == "raises" else contextlib.nullcontext()
    with expected, ctrl_c_after(0.2):
        if ending == "raises":
            _ = 1 / 0  # the code under test failed early
    time.sleep(0.4)  # a timer left running would end the whole pytest run here


STUCK_IN_CLEAN_UP = """
import threading
import time


def test_stuck_in_its_clean_up():
    try:
        time.sleep(600)  # the timeout's signal fails the test here...
    finally:
        threading.Event().wait()  # ...and its clean-up then waits for ever, where no signal comes


def test_never_reached():
    pass
"""


def run_stuck(tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """pytest on STUCK_IN_CLEAN_UP with the project's settings and tests/hangs.py, made quick:
    a timeout of 1 s, then 3 s of grace."""
    (tmp_path / "test_stuck.py").write_text(STUCK_IN_CLEAN_UP)
    command = [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path)]
    command += ["-p", "tests.hangs", "-p", "no:cacheprovider", "-o", "timeout=1", "-o", "hang_grace=3", *options]
    environment = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*command, "test_stuck.py"], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120
    )


def test_a_test_stuck_after_its_timeout_ends_the_run_red_with_every_stack(tmp_path: Path) -> None:
    ended = run_stuck(tmp_path, "-n", "0")
    assert ended.returncode != 0, ended.stdout
    assert "Timeout (0:00:04)!" in ended.stderr, ended.stderr[-2000:]
    assert "in test_stuck_in_its_clean_up" in ended.stderr, ended.stderr[-2000:]


def test_under_xdist_the_stuck_test_fails_once_and_the_others_run(tmp_path: Path) -> None:
    ended = run_stuck(tmp_path, "-n", "2")
    output = ended.stdout + ended.stderr
    assert ended.returncode == 1, output
    assert "worker 'gw" in output and "crashed while running 'test_stuck.py::test_stuck_in_its_clean_up'" in output
    assert output.count("Timeout (0:00:04)!") == 1, output  # not run again on a new worker
    assert ended.stdout.strip().splitlines()[-1].startswith("=") and "1 failed, 1 passed" in ended.stdout
