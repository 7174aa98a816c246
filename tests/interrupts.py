"""Ctrl-C in a test, delivered only while the code under test runs, and always consumed.

A bare `threading.Timer(1.0, _thread.interrupt_main)` fires whenever the timer does: when the
code under test fails early, the KeyboardInterrupt lands later, in another test or in pytest
itself (its assertion rewriter, its traceback formatting: `INTERNALERROR SystemError: AST
constructor recursion depth mismatch`), and ends the whole run. Here the interrupt goes through a
SIGINT handler of our own that raises only while the `with` block runs; one that arrives later is
dropped, and the timer is cancelled and joined before the block's exit returns.

    with ctrl_c_after(1.0), pytest.raises(KeyboardInterrupt):
        for _ in results: ...
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


@contextlib.contextmanager
def ctrl_c_after(seconds: float) -> Iterator[None]:
    """KeyboardInterrupt in the main thread after `seconds`, if the block is still running then."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("ctrl_c_after works in the main thread only (signal handlers live there)")
    window_open = True

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if window_open:
            raise KeyboardInterrupt
        # Late: the block is over; dropping it keeps it out of pytest.

    previous = signal.signal(signal.SIGINT, on_sigint)
    # A real SIGINT to the main thread, as Ctrl-C sends: it also ends a blocking sleep or read,
    # which `_thread.interrupt_main()` (a flag checked between bytecodes) would wait out.
    main_thread = threading.main_thread().ident
    assert main_thread is not None
    timer = threading.Timer(seconds, signal.pthread_kill, args=(main_thread, signal.SIGINT))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        try:
            window_open = False
        except KeyboardInterrupt:  # landed on the block's very end: consumed here
            window_open = False
        timer.cancel()
        timer.join()
        # signal.signal() runs any pending handler first (ours, which drops it), then restores.
        signal.signal(signal.SIGINT, previous)
