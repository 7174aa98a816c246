"""What ends a test run that would otherwise hang (a pytest plugin; tests/conftest.py loads it).

pytest-timeout fails a test that runs past its timeout with SIGALRM, and the run goes on. Two
hangs remain that no signal ends:

- a test stuck after its timeout fired: in its own clean-up (joining a thread that never ends,
  shutting down a pool that waits for a hung call), or in C code holding the GIL. Once the test
  has run a grace (`hang_grace`, 60 s) past its timeout, faulthandler prints every thread's stack
  to the real stderr and ends the process: under pytest-xdist the controller reports that test as
  failed and starts a new worker; in one process the run ends red.
- a thread left behind that keeps Python from exiting after the last test (non-daemon, or a thread
  pool's worker): `exit_grace` (30 s) after the run, every thread's stack is printed and the
  process ends with the run's own exit status. (An xdist worker waits for its controller after its
  last test; the controller kills one that does not end.)
"""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
from typing import Any

import pytest

_state = {"stderr": 2, "exit_status": 0}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("hang_grace", "seconds past its timeout after which a stuck test ends the process", default="60")
    parser.addini("exit_grace", "seconds after the run after which a process that has not exited ends", default="30")


def pytest_configure(config: pytest.Config) -> None:
    # Output capturing is suspended between hooks: fd 2 is the terminal's stderr, or CI's log.
    _state["stderr"] = os.dup(2)


# Set and cancelled with pytest-timeout's own timer, so this follows every way its timeout is set
# (ini, --timeout, PYTEST_TIMEOUT, the mark; none or 0 sets neither) and stops when pdb starts.
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> None:
    limit = float(settings.timeout) + float(str(item.config.getini("hang_grace")))
    faulthandler.dump_traceback_later(limit, exit=True, file=_state["stderr"])
    # None: pytest-timeout's own implementation sets its timer too.


def pytest_timeout_cancel_timer(item: pytest.Item) -> None:
    faulthandler.cancel_dump_traceback_later()


def pytest_enter_pdb() -> None:
    faulthandler.cancel_dump_traceback_later()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _state["exit_status"] = int(exitstatus)


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # an xdist worker lives on until the controller ends it, and is killed if stuck

    grace = float(str(config.getini("exit_grace")))

    def stuck() -> None:
        print(f"\npytest: still not exited {grace:.0f} s after the run; threads:", file=sys.stderr)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        os._exit(_state["exit_status"] or 1)

    watchdog = threading.Timer(grace, stuck)
    watchdog.daemon = True  # never what keeps the process alive itself
    watchdog.start()
