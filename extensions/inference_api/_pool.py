"""Many concurrent requests on httpx's own pool: those beyond its connections wait here, in order.

httpcore's connection pool walks every queued request and every connection each time a request
is added or ends (`_assign_requests_to_connections`), and wakes every queued request when one
connection frees up, all but one to queue again: with many more requests than connections its
cost per request grows with their number. Measured with benchmarks/bench_calls.py on the mock
server over loopback, 100 connections, before this queue: 26 ms of CPU a GET at concurrency 500,
against 2.6 ms at 50 (encode/httpcore#1035, open; with its default limits raw httpx ends in
`PoolTimeout`s there). The aiohttp transport has no such
problem; httpx's own pool is what async calls use without the `fast` extra, with a proxy in the
environment, or with a transport of the caller's.

`QueuedTransport` wraps an `httpx.AsyncHTTPTransport` and lets at most its pool's
`max_connections` requests into it at once. A request keeps its place until its response is
closed, as its connection does; the others wait first come, first served, for at most the
request's pool timeout (then `httpx.PoolTimeout`, as the pool would raise).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Self

import anyio
import httpx

__all__ = ["QueuedTransport", "queue_beyond_pool"]


class _Releasing(httpx.AsyncByteStream):
    """A response body that gives its request's place back when closed."""

    __slots__ = ("_release", "_stream")

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()  # no generator of our own between the chunks and httpx

    async def aclose(self) -> None:
        release, self._release = self._release, None
        try:
            await self._stream.aclose()
        finally:
            if release is not None:
                release()


class QueuedTransport(httpx.AsyncBaseTransport):
    """`transport`, with at most `size` requests in it at once; see the module docstring."""

    def __init__(self, transport: httpx.AsyncBaseTransport, size: int) -> None:
        self.transport = transport
        self.size = size
        self._places: anyio.Semaphore | None = None  # made in the event loop, at the first request

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        places = self._places
        if places is None:
            places = self._places = anyio.Semaphore(self.size, fast_acquire=True)
        if places.value > 0:
            await places.acquire()
        else:
            timeout = (request.extensions.get("timeout") or {}).get("pool")
            try:
                with anyio.fail_after(timeout):
                    await places.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout(f"no connection free within {timeout} s", request=request) from None
        try:
            response = await self.transport.handle_async_request(request)
        except BaseException:
            places.release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Releasing(response.stream, places.release)
        return response

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> Self:
        await self.transport.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.transport.__aexit__(exc_type, exc_value, traceback)


def _queued(transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncBaseTransport | None:
    if not isinstance(transport, httpx.AsyncHTTPTransport):
        return transport
    size = getattr(getattr(transport, "_pool", None), "_max_connections", None)
    return QueuedTransport(transport, size) if isinstance(size, int) and size > 0 else transport


def queue_beyond_pool(http_client: httpx.AsyncClient) -> None:
    """Wrap the client's own pools (its transport and its proxy mounts) in `QueuedTransport`.

    Reaches into the client for them (httpx offers no way to wrap its transports once made);
    tests/extensions/test_pool.py checks that they are in place, so an httpx release that moves
    them fails a test rather than silently bringing the slowdown back.
    """
    transport = _queued(http_client._transport)
    assert transport is not None
    http_client._transport = transport
    http_client._mounts = {pattern: _queued(mounted) for pattern, mounted in http_client._mounts.items()}
