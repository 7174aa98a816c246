"""`MockServer`: the mock server on a free loopback port, in a background thread, for tests.

    from inference_api_mock.testing import MockServer
    from inference_api_mock.models import LLAMA

    with MockServer(tokens=("test-token",), speed=200.0, faults=True) as server:
        server.base_url                     # "http://127.0.0.1:PORT"
        server.token                        # "test-token"
        server.fault("GET /v1/predictions/{prediction_id}", status=503, retry_after="1")
        ...                                 # the client under test gets one 503, then real answers
        server.requests                     # [RecordedRequest(method, path, headers, body), ...]

A real uvicorn serves the real app: clients talk HTTP over loopback as they would to the hosted
service. `fault()` takes the routes of openapi.yaml ("METHOD /path/{template}") and the keywords of
`inference_api_mock.faults.Fault`; faults need `faults=True`. Leaving the block stops the server.

The limits of `python -m inference_api_mock --help` apply, with the same keywords: `max_body_bytes`,
`max_stored_bytes` and `max_tokens` (`inference_api_mock.app`), `max_connections` and
`request_read_timeout` (`inference_api_mock.serving`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

from inference_api_mock._extra import raise_for_server_extra

try:
    import uvicorn
    from starlette.applications import Starlette

    from inference_api_mock.app import (
        DEFAULT_KEEPALIVE_SECONDS,
        DEFAULT_MAX_BODY_BYTES,
        DEFAULT_MAX_TOKENS,
        Control,
        create_app,
    )
    from inference_api_mock.faults import Fault, RateLimit, RecordedRequest
    from inference_api_mock.predictions import MAX_STORED_BYTES
    from inference_api_mock.serving import DEFAULT_REQUEST_READ_TIMEOUT, base_url, bind, run, uvicorn_server
    from inference_api_mock.spec import Spec
except ModuleNotFoundError as error:
    raise_for_server_extra(error, "inference_api_mock.testing")

START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 10.0


class MockServer:
    """A running mock server; a context manager (or call `start()` and `stop()`)."""

    def __init__(
        self,
        tokens: Sequence[str] = ("test-token",),
        *,
        speed: float = 200.0,
        faults: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        keepalive_seconds: float = DEFAULT_KEEPALIVE_SECONDS,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_stored_bytes: int = MAX_STORED_BYTES,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        record_requests: bool = True,
        max_connections: int | None = None,
        request_read_timeout: float = DEFAULT_REQUEST_READ_TIMEOUT,
        spec: Spec | None = None,
    ) -> None:
        if isinstance(tokens, str):
            raise TypeError("tokens is a sequence of tokens, e.g. ('test-token',)")
        self.tokens = tuple(tokens)
        self.app: Starlette = create_app(
            self.tokens,
            speed=speed,
            faults=faults,
            record_requests=record_requests,
            keepalive_seconds=keepalive_seconds,
            max_body_bytes=max_body_bytes,
            max_stored_bytes=max_stored_bytes,
            max_tokens=max_tokens,
            spec=spec,
        )
        self._control: Control = self.app.state.control
        self._max_connections = max_connections
        self._request_read_timeout = request_read_timeout
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.base_url = ""

    def __repr__(self) -> str:
        state = self.base_url or "stopped"
        return f"MockServer({state}, {len(self.tokens)} tokens)"

    @property
    def token(self) -> str:
        return self.tokens[0]

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        sock = bind(self._host, self._port)
        server = uvicorn_server(
            self.app, max_connections=self._max_connections, request_read_timeout=self._request_read_timeout
        )
        thread = threading.Thread(target=run, args=(server, [sock]), name="mock-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError("the mock server did not start")
            time.sleep(0.005)
        self._server, self._thread = server, thread
        self._loop = self.app.state.loop
        self.base_url = base_url(sock)
        self._socket = sock
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        store = self.app.state.store
        if self._loop is not None and not self._loop.is_closed():
            # Open streams and /v1/run waits end now, so uvicorn need not wait for them.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(store.release_waiters)
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT_SECONDS)
        self._socket.close()
        self._server = self._thread = None
        self.base_url = ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def fault(self, route: str, **options: Any) -> Fault:
        """Plan what the next `times` (default 1) requests to `route` get; see `inference_api_mock.faults`."""
        if self._control.faults is None:
            raise RuntimeError("fault plans are off: start MockServer(..., faults=True)")
        fault = Fault(route=route, **options)
        self._control.faults.add(fault)
        return fault

    def rate_limit(self, route: str, per_second: float, *, burst: int = 1, retry_after: str | None = None) -> RateLimit:
        """Answer requests to `route` beyond `per_second` with 429 until `clear_faults()`; see `RateLimit`."""
        if self._control.faults is None:
            raise RuntimeError("fault plans are off: start MockServer(..., faults=True)")
        limit = RateLimit(route=route, per_second=per_second, burst=burst, retry_after=retry_after)
        self._control.faults.limit(limit)
        return limit

    def clear_faults(self) -> None:
        if self._control.faults is not None:
            self._control.faults.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests received so far, oldest first (not the `/_mock/*` ones)."""
        if self._control.requests is None:
            raise RuntimeError("the request log is off: start MockServer(..., record_requests=True)")
        return self._control.requests.snapshot()

    def clear_requests(self) -> None:
        if self._control.requests is not None:
            self._control.requests.clear()
