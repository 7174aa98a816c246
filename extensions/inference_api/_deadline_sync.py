"""Total deadlines for sync code, at the socket: see `_deadline`. Imported on first use (it needs httpcore)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from ._deadline import sync_deadline

__all__ = ["DeadlineBackend", "bound_sync_reads", "is_bounded"]


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
