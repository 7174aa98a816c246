"""Serving the app with uvicorn on a socket this module binds, so the port is known up front.

Shared by `python -m inference_api_mock` (serves in the main thread until stopped) and
`inference_api_mock.testing.MockServer` (serves in a background thread).

Connections are bounded, so that slow or stuck clients cannot lock a well-behaved one out:

- A client has `request_read_timeout` seconds (default 10) from opening a connection, or from the
  previous answer on a kept-alive one, to send a whole request, headers and body; a connection that
  trickles a byte now and then counts from the same start. Past it, the connection is closed.
  uvicorn has no such timeout (its `timeout_keep_alive`, 5 s here, covers idle connections between
  requests only and restarts at every byte received), so `GuardedH11Protocol` adds it.
- At most `max_connections` are open at once (default: what the process's open-file limit leaves,
  see `default_max_connections`, at most 4,096). One more closes the connection that has waited
  longest for a request (never one whose request is being answered), so newcomers get in.
- uvicorn's `limit_concurrency` is not used: it answers 503 once that many connections are open,
  which would let slow connections turn every well-behaved request away.
- If the process runs out of file descriptors anyway, accepting waits a second and retries (asyncio
  does); the log says so in one line at most every 10 seconds, not a traceback per attempt.
- A request the server cannot parse after it has already answered (a malformed chunk after an early
  413) closes the connection without a second answer, rather than with a traceback.

Whatever is logged goes to the logger `inference_api_mock`, in single lines, each kind at most
once per `LOG_INTERVAL_SECONDS` with a count of what happened meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger("inference_api_mock")

# Streams still open when the server stops get this long to end before they are cut.
GRACEFUL_SHUTDOWN_SECONDS = 2
# A whole request (headers and body) must arrive within this long; see the module docstring.
DEFAULT_REQUEST_READ_TIMEOUT = 10.0
# An idle kept-alive connection is closed after this long (uvicorn's timeout_keep_alive).
IDLE_TIMEOUT_SECONDS = 5
MAX_CONNECTIONS_CEILING = 4096
# Connections asyncio accepts per wake-up (uvicorn's `backlog`, also the listen queue's length,
# which `_Server` sets back to LISTEN_QUEUE: a burst of connections would otherwise wait for TCP
# to retry, a second later).
ACCEPT_BATCH = 64
LISTEN_QUEUE = 2048
LOG_INTERVAL_SECONDS = 10.0


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: a free one the system picks)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto says
    # TCP, and with Nagle on, uvicorn's separate header and body writes meet the client's delayed
    # ACK: ~40 ms per answer (measured: 23 GET/s instead of ~1,000 on loopback).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def open_file_limit() -> int | None:
    """The process's soft limit on open files (None where the platform has no such limit)."""
    try:
        import resource  # not on Windows
    except ImportError:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def accept_batch(file_limit: int | None) -> int:
    return ACCEPT_BATCH if file_limit is None else max(8, min(ACCEPT_BATCH, file_limit // 16))


def default_max_connections(file_limit: int | None = None) -> int:
    """What the open-file limit leaves for connections, at most MAX_CONNECTIONS_CEILING.

    Kept back: 64 files for the server itself (its listening socket, the event loop, logs, webhook
    deliveries, the docs page) and three accept batches, since asyncio accepts a batch before the
    connections of the previous one are counted (and those over the limit closed).
    """
    limit = open_file_limit() if file_limit is None else file_limit
    if limit is None:
        return MAX_CONNECTIONS_CEILING
    return max(8, min(MAX_CONNECTIONS_CEILING, limit - 64 - 3 * accept_batch(limit)))


class RateLimitedLog:
    """One line per kind of event at most every `interval` seconds, saying how many happened since."""

    def __init__(self, interval: float = LOG_INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}

    def __call__(self, level: int, kind: str, message: str, *args: object) -> None:
        now = self.clock()
        self._unlogged[kind] = self._unlogged.get(kind, 0) + 1
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            return
        count = self._unlogged.pop(kind)
        self._last[kind] = now
        suffix = f" ({count} times since the last such line)" if last is not None else ""
        logger.log(level, message + suffix, *args)


class ConnectionGuard:
    """The open connections of one server: their count, and which wait for a request, longest first."""

    def __init__(self, max_connections: int, request_read_timeout: float) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if not request_read_timeout > 0:
            raise ValueError("request_read_timeout must be positive")
        self.max_connections = max_connections
        self.request_read_timeout = request_read_timeout
        self.log = RateLimitedLog()
        self.open = 0
        # Insertion order is the order they began to wait: the first one has waited longest.
        self._waiting: dict[GuardedH11Protocol, None] = {}

    def admit(self, connection: GuardedH11Protocol) -> None:
        """A new connection; one over the limit closes the one that has waited longest for a request."""
        self.open += 1
        if self.open <= self.max_connections:
            return
        victim = next(iter(self._waiting), connection)  # all busy answering: the newcomer goes
        self._waiting.pop(victim, None)
        self.log(
            logging.WARNING,
            "limit",
            "%d connections open, the limit: closed the one that waited longest for a request",
            self.max_connections,
        )
        victim.close_connection()

    def waiting(self, connection: GuardedH11Protocol) -> None:
        self._waiting.pop(connection, None)
        self._waiting[connection] = None

    def busy(self, connection: GuardedH11Protocol) -> None:
        self._waiting.pop(connection, None)

    def release(self, connection: GuardedH11Protocol) -> None:
        self._waiting.pop(connection, None)
        self.open -= 1


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for receiving a request and a connection limit.

    Written here because uvicorn has neither a header nor a body read timeout (its issue #157
    plans them); the hooks are the protocol's own: connection_made/lost, data_received and
    on_response_complete. `guard` is set on a subclass per server (`guarded_protocol`).
    """

    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_request()
        self.guard.admit(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        self.guard.release(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._track_request()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if self._request_started():
            self._track_request()  # a pipelined request, started at once
        else:
            self._await_request()

    def send_400_response(self, msg: str) -> None:
        if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            super().send_400_response(msg)
        else:
            # This request was answered already (an early 413, say): h11 cannot send a second
            # answer, and uvicorn would raise LocalProtocolError. Nothing more to say: close.
            self.transport.close()

    def close_connection(self) -> None:
        self._cancel_deadline()
        if not self.transport.is_closing():
            self.transport.close()

    def _request_started(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _await_request(self) -> None:
        """The connection now waits for a request: it has `request_read_timeout` to arrive whole."""
        self._cancel_deadline()
        self._deadline = self.loop.call_later(self.guard.request_read_timeout, self._deadline_passed)
        self.guard.waiting(self)

    def _track_request(self) -> None:
        if not self._request_started():
            return  # still waiting for headers: the deadline set when the wait began runs on
        self.guard.busy(self)
        if not self.cycle.more_body:
            self._cancel_deadline()  # received whole, in time

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        self.guard.log(
            logging.INFO,
            "timeout",
            "closed a connection that sent no whole request within %g s",
            self.guard.request_read_timeout,
        )
        self.close_connection()


def guarded_protocol(guard: ConnectionGuard) -> type[GuardedH11Protocol]:
    class MockServerProtocol(GuardedH11Protocol):
        pass

    MockServerProtocol.guard = guard
    return MockServerProtocol


class _Server(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        for sock in sockets or ():
            sock.listen(LISTEN_QUEUE)


def uvicorn_server(
    app: ASGIApp,
    log_level: str = "warning",
    *,
    max_connections: int | None = None,
    request_read_timeout: float = DEFAULT_REQUEST_READ_TIMEOUT,
) -> uvicorn.Server:
    """A uvicorn server for `app`, its connections bounded as the module docstring says."""
    file_limit = open_file_limit()
    guard = ConnectionGuard(max_connections or default_max_connections(file_limit), request_read_timeout)
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        http=guarded_protocol(guard),
        loop="asyncio",  # its accept loop is what the reserve in default_max_connections is sized for
        ws="none",
        backlog=accept_batch(file_limit),
        timeout_keep_alive=IDLE_TIMEOUT_SECONDS,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # Request heads over h11's 16 KiB are answered 400 (its default, said here to be seen).
        h11_max_incomplete_event_size=16 * 1024,
    )
    return _Server(config)


async def serve(server: uvicorn.Server, sockets: Sequence[socket.socket]) -> None:
    """`server.serve(sockets)`, with asyncio's accept failures logged in one line, not a storm.

    Out of file descriptors, Python 3.11's accept loop reports the failure (with a traceback) once
    per connection it still tries in that wake-up, and retries a second later: hundreds of
    tracebacks a second. They become one line every LOG_INTERVAL_SECONDS.
    """
    loop = asyncio.get_running_loop()
    log = RateLimitedLog()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == "socket.accept() out of system resource":
            log(logging.WARNING, "accept", "accepting connections failed (%s); retrying", context.get("exception"))
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(handle)
    await server.serve(sockets=list(sockets))


def run(server: uvicorn.Server, sockets: Sequence[socket.socket]) -> None:
    """`serve` in a new event loop, until the server stops (for a background thread)."""
    asyncio.run(serve(server, sockets))
