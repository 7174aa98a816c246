"""tests/interrupts.py: a test's Ctrl-C lands inside its block, or nowhere."""

from __future__ import annotations

import contextlib
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


def test_a_test_stuck_after_its_timeout_ends_the_run_red_with_every_stack(tmp_path: Path) -> None:
    """pyproject.toml's backstop: faulthandler ends a run whose test outlives its timeout."""
    (tmp_path / "test_stuck.py").write_text(STUCK_IN_CLEAN_UP)
    command = [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path)]
    # The project's own settings, in one process, with its timeouts (120 s, then 180 s) made short.
    command += ["-p", "no:cacheprovider", "-n", "0", "-o", "timeout=1", "-o", "faulthandler_timeout=4", "test_stuck.py"]
    ended = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=90, check=False)
    assert ended.returncode != 0, ended.stdout
    assert "Timeout (0:00:04)!" in ended.stderr, ended.stderr[-2000:]
    assert "in test_stuck_in_its_clean_up" in ended.stderr, ended.stderr[-2000:]
