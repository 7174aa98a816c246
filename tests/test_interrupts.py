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


STUCK_AFTER_THE_RUN = """
import threading


def test_leaves_a_thread_behind():
    threading.Thread(target=threading.Event().wait).start()  # not a daemon: Python waits for it at exit
"""


def run_stuck(tmp_path: Path, *options: str, tests: str = STUCK_IN_CLEAN_UP) -> subprocess.CompletedProcess[str]:
    """pytest on `tests` with the project's settings and tests/hangs.py, made quick: a timeout of
    1 s, then 3 s of grace; 2 s after the run."""
    (tmp_path / "test_stuck.py").write_text(tests)
    command = [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path)]
    command += ["-p", "tests.hangs", "-p", "no:cacheprovider", "-o", "timeout=1", "-o", "hang_grace=3"]
    command += ["-o", "exit_grace=2", *options]
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


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_thread_left_behind_cannot_keep_the_run_from_ending(tmp_path: Path, workers: str) -> None:
    ended = run_stuck(tmp_path, "-n", workers, tests=STUCK_AFTER_THE_RUN)  # raises if it never ends
    assert "1 passed" in ended.stdout, ended.stdout + ended.stderr
    # Under xdist the controller kills the worker 10 s after the run, and the run stays green: a
    # thread left behind is reported in one process only.
    if workers == "0":
        assert ended.returncode == 1, ended.stdout + ended.stderr  # passed, but did not exit by itself
        assert "still not exited 2 s after the run" in ended.stderr
        assert "in test_leaves_a_thread_behind" not in ended.stderr  # the thread's stack is shown...
        assert "threading.py" in ended.stderr  # ...waiting in Event.wait


SLOW_BUT_FINE = """
import time


def test_takes_its_time():
    time.sleep(5)
"""


def test_without_a_timeout_nothing_ends_a_slow_test(tmp_path: Path) -> None:
    """`--timeout 0` (for a debugger) turns off the backstop too, not only pytest-timeout."""
    ended = run_stuck(tmp_path, "-n", "0", "--timeout", "0", tests=SLOW_BUT_FINE)  # 5 s > 1 s + 3 s
    assert ended.returncode == 0, ended.stdout + ended.stderr
    assert "1 passed" in ended.stdout
