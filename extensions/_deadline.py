"""Total deadlines: every call ends by its deadline, whatever the server does.

httpx's timeouts bound each wait for bytes, not a whole call: a server that trickles one byte a
second never trips a 30 s read timeout, and a transport stuck on a malformed chunk (aiohttp's C
parser waits forever after a garbage chunk-size line) ignores it altogether. A deadline on
`time.monotonic()` bounds the whole call instead:

- sync: sync code cannot be cancelled, so the bound sits at the socket. `DeadlineBackend` wraps
  httpcore's network backend and cuts every socket connect, read and write to the time left
  before the deadline in force, which callers set around their I/O in a context variable
  (`sync_deadline`). A read that would pass it raises httpcore's timeout at once: a one-byte drip
  ends at the deadline, not one read timeout later. Cost: one clock read and one context variable
  lookup per socket operation, no thread and no extra system call. `bound_sync_reads` installs it
  on an `httpx.Client`'s own transports (a transport the caller supplied is left alone: then only
  the per-chunk checks and the cut read timeouts bound a call).
- async: `AsyncDeadline` arms one timer per call or per stream connection (not per read) and,
  when the deadline passes while the call awaits I/O, cancels the awaiting task and turns that
  cancellation into `DeadlineExpired`. While the caller's own code runs between two reads it
  cancels nothing: the next read sees the deadline has passed. Cost per read: one coroutine
  call and one clock read.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

import anyio
import httpcore
import httpx

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_RUN_TIMEOUT",
    "AsyncDeadline",
    "DeadlineBackend",
    "DeadlineExpired",
    "bound_sync_reads",
    "deadline_after",
    "is_bounded",
    "sync_deadline",
]

T = TypeVar("T")

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


# --- sync: at the socket --------------------------------------------------------------------------


def _cut(timeout: float | None, expired: type[Exception]) -> float | None:
    deadline = sync_deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the call's total timeout passed")
    return left if timeout is None or timeout > left else timeout


class _DeadlineStream(httpcore.NetworkStream):
    __slots__ = ("_stream",)

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _cut(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # httpcore sends in a loop of `send` calls, each bounded by `timeout`: a server that reads
        # slowly is bounded by the time left at this call, not at each `send`. Good enough: an
        # upload is one call of a few writes, and the reads that follow see the deadline.
        self._stream.write(buffer, _cut(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        stream = self._stream.start_tls(ssl_context, server_hostname, _cut(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with every socket operation cut to `sync_deadline`."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _cut(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, _cut(timeout, httpcore.ConnectTimeout), socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


_BOUND_MARK = "_inference_api_bounded"


def bound_sync_reads(http_client: httpx.Client) -> None:
    """Make the client's own transports honour `sync_deadline` (idempotent, cheap to call again).

    Reaches into httpx's transport for its httpcore pool: httpx offers no way to pass a network
    backend. tests/hostile checks that it is in place, so an httpx release that moves it fails a
    test rather than silently dropping the bound.
    """
    if getattr(http_client, _BOUND_MARK, False):
        return
    transports = [getattr(http_client, "_transport", None), *getattr(http_client, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend) and not isinstance(backend, DeadlineBackend):
            pool._network_backend = DeadlineBackend(backend)  # type: ignore[union-attr]
    setattr(http_client, _BOUND_MARK, True)


def is_bounded(http_client: httpx.Client) -> bool:
    """Whether the client's default transport honours `sync_deadline` (for tests)."""
    pool = getattr(getattr(http_client, "_transport", None), "_pool", None)
    return isinstance(getattr(pool, "_network_backend", None), DeadlineBackend)


# --- async: one timer per call ------------------------------------------------------------------


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class AsyncDeadline:
    """A deadline for the awaits of one call or one stream connection; see the module docstring.

        guard = AsyncDeadline(deadline)
        try:
            response = await guard.run(client.send(request))   # DeadlineExpired when too late
            chunk = await guard.run(chunks.__anext__())
        finally:
            guard.close()

    `deadline` may be moved later between awaits (an idle timeout that restarts at each event):
    the timer then re-arms itself for the new time. Off asyncio (trio through anyio) each await
    gets its own cancel scope instead.
    """

    __slots__ = ("_fired", "_handle", "_loop", "_task", "deadline")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._loop = asyncio.get_running_loop() if _on_asyncio() else None
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[Any] | None = None  # the task awaiting I/O under this deadline, now
        self._fired = False

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def _arm(self) -> None:
        assert self._loop is not None
        self._handle = self._loop.call_at(self._loop.time() + (self.deadline - time.monotonic()), self._on_timer)

    def _on_timer(self) -> None:
        self._handle = None
        if time.monotonic() < self.deadline:  # moved later meanwhile
            self._arm()
            return
        task = self._task
        if task is not None and not self._fired:
            self._fired = True
            task.cancel()

    async def run(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable`; raise DeadlineExpired (after cancelling it) if the deadline passes first."""
        if time.monotonic() >= self.deadline:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise DeadlineExpired
        if self._loop is None:
            return await self._run_in_scope(awaitable)
        task = asyncio.current_task()
        assert task is not None
        if self._handle is None:
            self._arm()
        self._task = task
        try:
            result = await awaitable
        except BaseException:
            self._task = None
            if self._fired:
                self._fired = False
                if task.uncancel() == 0:  # ours alone: anyone else's cancellation goes on
                    raise DeadlineExpired from None
            raise
        self._task = None
        if self._fired:
            # The timer cancelled the task just as the awaitable finished: take that cancellation
            # back before it hits an unrelated await.
            self._fired = False
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                if task.uncancel() > 0:
                    raise
            else:
                task.uncancel()
        return result

    async def _run_in_scope(self, awaitable: Awaitable[T]) -> T:
        with anyio.move_on_after(self.deadline - time.monotonic()) as scope:
            return await awaitable
        assert scope.cancelled_caught
        raise DeadlineExpired

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
