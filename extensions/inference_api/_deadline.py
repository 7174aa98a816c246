"""Total deadlines: every call ends by its deadline, whatever the server does.

httpx's timeouts bound each wait for bytes, not a whole call: a server that trickles one byte a
second never trips a 30 s read timeout, and a transport stuck on a malformed chunk (aiohttp's C
parser waits forever after a garbage chunk-size line) ignores it altogether. A deadline on
`time.monotonic()` bounds the whole call instead:

- sync (`_deadline_sync`): sync code cannot be cancelled, so the bound sits at the socket. `DeadlineBackend` wraps
  httpcore's network backend and cuts every socket connect, read and write to the time left
  before the deadline in force, which callers set around their I/O in a context variable
  (`sync_deadline`). A read that would pass it raises httpcore's timeout at once: a one-byte drip
  ends at the deadline, not one read timeout later. Cost: one clock read and one context variable
  lookup per socket operation, no thread and no extra system call. `bound_sync_reads` installs it
  on an `httpx.Client`'s own transports (a transport the caller supplied is left alone: then only
  the per-chunk checks and the cut read timeouts bound a call).
- async (`_deadline_async`): `AsyncDeadline` arms one timer per call or per stream connection (not per read) and,
  when the deadline passes while the call awaits I/O, cancels the awaiting task and turns that
  cancellation into `DeadlineExpired`. While the caller's own code runs between two reads it
  cancels nothing: the next read sees the deadline has passed. Cost per read: one coroutine
  call and one clock read.

This module holds what both halves share; each half imports it, never the other way round. The
sync half needs httpcore and the async half asyncio (~25 and ~20 ms to import): callers import
each where it is first used, so that `import inference_api` and sync code pay for neither.
"""

from __future__ import annotations

import contextvars
import time

__all__ = ["DEFAULT_CALL_TIMEOUT", "DEFAULT_RUN_TIMEOUT", "DeadlineExpired", "deadline_after", "sync_deadline"]

# The total of one get, create or cancel, its retries included: room for the four default
# attempts with their backoff, or one 60 s Retry-After, on a service that answers at all.
DEFAULT_CALL_TIMEOUT = 120.0
# /v1/run answers only once the model has finished, and a stream lasts as long as the model
# writes: their total (and their read timeout) is this long instead.
DEFAULT_RUN_TIMEOUT = 600.0

# The deadline (on time.monotonic()) of the sync I/O running in this context, if any.
sync_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("inference_api_deadline", default=None)


class DeadlineExpired(Exception):
    """Internal: a deadline passed while a call was waiting for the server."""


def deadline_after(seconds: float | None, now: float | None = None) -> float | None:
    """The deadline `seconds` from now on `time.monotonic()` (None: no deadline)."""
    if seconds is None:
        return None
    if not seconds >= 0:  # also refuses NaN
        raise ValueError(f"a timeout is a number of seconds >= 0 or None, not {seconds!r}")
    return (time.monotonic() if now is None else now) + seconds
