"""The aiohttp transport (the `fast` extra), with every aiohttp error turned into an httpx one.

httpx-aiohttp maps the aiohttp errors it knows and lets the others through as they are: a response
that is not valid HTTP (a bad status line, header or chunk size) raises `aiohttp.ClientResponseError`,
where httpx's own transport raises `httpx.RemoteProtocolError`. Callers catch httpx errors only, so
this transport raises `httpx.RemoteProtocolError` for those too, with the aiohttp error as its cause
(`_http` reads the cause to tell whether a request can have reached the server).

Imported only when the extra is installed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

__all__ = ["MappedAiohttpTransport"]


@contextmanager
def _unmapped_as_protocol_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except aiohttp.ClientError as exc:
        message = getattr(exc, "message", "") or str(exc)
        raise httpx.RemoteProtocolError(" ".join(f"{type(exc).__name__}: {message}".split()), request=request) from exc


class _MappedStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _unmapped_as_protocol_errors(self._request):
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        with _unmapped_as_protocol_errors(self._request):
            await self._stream.aclose()


class MappedAiohttpTransport(AiohttpTransport):
    """`AiohttpTransport` that raises httpx errors only."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with _unmapped_as_protocol_errors(request):
            response = await super().handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _MappedStream(response.stream, request)
        return response
