"""tests/interrupts.py: a test's Ctrl-C lands inside its block, or nowhere."""

from __future__ import annotations

import contextlib
import signal
import time

import pytest

from tests.interrupts import ctrl_c_after


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
