"""The aiohttp transport (the `fast` extra): httpx-aiohttp's configuration, a leaner request path.

httpx-aiohttp builds the aiohttp session (connector, limits, SSL context) and this transport keeps
that. It replaces the per-request path, measured with benchmarks/bench_calls.py and
bench_download.py to cost more than aiohttp itself:
- bodies come in 64 KiB chunks, as aiohttp users read them (httpx-aiohttp: 16 KiB, each passed
  up through two more generators; a 256 MiB download took a fifth less CPU without them);
- headers go to aiohttp as a list of pairs (httpx's `Headers` as a mapping is decoded per key);
- errors are mapped in `except` clauses, not context managers entered per request and per chunk;
- the `ClientTimeout` of each set of timeouts is made once;
- the aiohttp session keeps no cookies (`DummyCookieJar`): httpx's client does, and sends them;
  a second jar in aiohttp would add what httpx's does not hold (and costs a lookup per request);
- a small body of known length and no content coding (a prediction) is read at once and handed to
  httpx whole, as a `MockTransport` response is: no stream to pass its one chunk through httpx's
  generators (the read is within the request's timeouts and deadline, like the headers').

Every aiohttp error becomes an httpx one, with the aiohttp error as its cause: httpx-aiohttp's own
mapping (its `AIOHTTP_EXC_MAP`), and `httpx.RemoteProtocolError` for the ones it lets through (a
bad status line, header or chunk size: `aiohttp.ClientResponseError`, where httpx's own transport
raises `httpx.RemoteProtocolError`). Callers catch httpx errors only, and `_http` reads the cause
to tell whether a request can have reached the server.

Imported only when the extra is installed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import AIOHTTP_EXC_MAP

__all__ = ["MappedAiohttpTransport"]

_CHUNK = 64 * 1024
_SMALL_BODY = 64 * 1024  # read at once when Content-Length says at most this, and nothing decodes it


def _mapped(exc: aiohttp.ClientError, request: httpx.Request) -> httpx.TransportError:
    """The httpx error for an aiohttp one: httpx-aiohttp's mapping (the most derived class wins), else
    `httpx.RemoteProtocolError`."""
    mapped: type[Exception] | None = None
    for aiohttp_class, httpx_class in AIOHTTP_EXC_MAP.items():
        if isinstance(exc, aiohttp_class) and (mapped is None or issubclass(httpx_class, mapped)):
            mapped = httpx_class
    if mapped is not None and issubclass(mapped, httpx.TransportError):
        return mapped(str(exc))
    message = getattr(exc, "message", "") or str(exc)
    return httpx.RemoteProtocolError(" ".join(f"{type(exc).__name__}: {message}".split()), request=request)


def _read_timeout(request: httpx.Request) -> float | None:
    timeout: float | None = (request.extensions.get("timeout") or {}).get("read")
    return timeout


def _timed_out(request: httpx.Request) -> httpx.ReadTimeout:
    return httpx.ReadTimeout("no data from the server within the read timeout", request=request)


class _Body(httpx.AsyncByteStream):
    """The body, each read bounded by the read timeout as on httpx's own transport.

    aiohttp's `sock_read` timer alone does not end a read: after a chunk-size line its parser
    refuses, aiohttp stops the timer and the body's reader waits forever (aiohttp 3.14).
    """

    __slots__ = ("_read_timeout", "_request", "_response")

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request
        self._read_timeout = _read_timeout(request)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        content.set_read_chunk_size(_CHUNK)  # as iter_chunked(_CHUNK) does
        try:
            while True:
                async with asyncio.timeout(self._read_timeout):
                    chunk = await content.read(_CHUNK)
                if not chunk:
                    return
                yield chunk
        except TimeoutError:
            raise _timed_out(self._request) from None
        except aiohttp.ClientError as exc:
            raise _mapped(exc, self._request) from exc

    async def aclose(self) -> None:
        try:
            self._response.release()
            await self._response.wait_for_close()
        except aiohttp.ClientError as exc:
            raise _mapped(exc, self._request) from exc


class MappedAiohttpTransport(AiohttpTransport):
    """`AiohttpTransport` that raises httpx errors only, with the leaner request path above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timeouts: dict[tuple[float | None, float | None, float | None], aiohttp.ClientTimeout] = {}

    def get_client(self) -> aiohttp.ClientSession:
        """The session httpx-aiohttp makes (its connector and limits), with no cookie jar of its own."""
        if self.client is not None:  # a session, or a factory, of the caller's
            return super().get_client()
        limit = self.limits.max_connections or 0  # aiohttp's "no limit" is 0, httpx's None
        if self.uds:
            connector: aiohttp.BaseConnector = aiohttp.UnixConnector(
                path=self.uds, keepalive_timeout=self.limits.keepalive_expiry, limit=limit
            )
        else:
            connector = aiohttp.TCPConnector(
                keepalive_timeout=self.limits.keepalive_expiry,
                ssl=self.ssl_context,
                local_addr=(self.local_address, 0) if self.local_address else None,
                limit=limit,
            )
        session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())
        # aiohttp sends an idempotent request once more when the connection drops, unasked: then
        # `retries=0` sent two and the RetryPolicy's 4 attempts eight. The SDK retries on its own;
        # no public option turns this off (aiohttp's own test client sets the same attribute).
        session._retry_connection = False
        return session

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        timeout = request.extensions.get("timeout") or {}
        key = (timeout.get("connect"), timeout.get("read"), timeout.get("pool"))
        cached = self._timeouts.get(key)
        if cached is None:
            if len(self._timeouts) > 64:  # deadlines cut timeouts to the time left: many distinct ones
                self._timeouts.clear()
            cached = self._timeouts[key] = aiohttp.ClientTimeout(sock_connect=key[0], sock_read=key[1], connect=key[2])
        return cached

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        data: Any
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            data = request.stream
            request.headers.pop("transfer-encoding", None)  # aiohttp chunks it itself
        proxy = self.proxy
        try:
            response = await self.client.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=data,
                allow_redirects=False,
                auto_decompress=False,
                compress=False,
                timeout=self._timeout(request),
                server_hostname=request.extensions.get("sni_hostname"),
                proxy=str(proxy.url) if proxy else None,
                proxy_auth=aiohttp.BasicAuth(*proxy.auth) if proxy and proxy.auth else None,
                proxy_headers=proxy.headers if proxy else None,
            )
        except aiohttp.ClientError as exc:
            raise _mapped(exc, request) from exc
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        stream: httpx.AsyncByteStream | httpx.ByteStream = _Body(response, request)
        length = response.content_length
        if length is not None and length <= _SMALL_BODY and "Content-Encoding" not in response.headers:
            try:
                async with asyncio.timeout(_read_timeout(request)):
                    stream = httpx.ByteStream(await response.read())
            except TimeoutError:
                raise _timed_out(request) from None
            except aiohttp.ClientError as exc:
                raise _mapped(exc, request) from exc
            finally:
                response.release()
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=stream,
            request=request,
            extensions=extensions,
        )
