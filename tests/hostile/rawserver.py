"""A raw-socket HTTP server for hostile scripts (not a test module).

    def handler(connection: Connection) -> None:
        request = connection.request()
        connection.send(b"HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n5\\r\\n{\\"dat\\r\\n")
        connection.send(b"zz\\r\\n\\r\\n")
        connection.hold()

    with RawServer(handler) as server:
        client = connect(TOKEN, server.base_url)
        ...

Each connection runs `handler` in a thread of its own. Leaving the block closes every socket,
which also unblocks a client still waiting in a read: a regression fails its test instead of
hanging the run.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

import attrs


@attrs.frozen
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


class Closed(Exception):
    """The server is stopping, or the client went away."""


class Connection:
    """One accepted connection, as a handler sees it."""

    def __init__(self, sock: socket.socket, server: RawServer) -> None:
        self.sock = sock
        self.server = server
        self._buffer = b""

    def request(self) -> Request:
        """Read one request (headers, then a Content-Length body)."""
        while b"\r\n\r\n" not in self._buffer:
            self._receive()
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(self._buffer) < length:
            self._receive()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        request = Request(method, path, headers, body)
        self.server.requests.append(request)
        return request

    def _receive(self) -> None:
        try:
            data = self.sock.recv(65536)
        except OSError as exc:
            raise Closed from exc
        if not data:
            raise Closed
        self._buffer += data

    def send(self, data: bytes) -> None:
        if self.server.stopping.is_set():
            raise Closed
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise Closed from exc
        with self.server.lock:
            self.server.bytes_sent += len(data)

    def drip(self, data: bytes, interval: float) -> None:
        """Send `data` one byte at a time, `interval` seconds apart."""
        for index in range(len(data)):
            self.send(data[index : index + 1])
            self.pause(interval)

    def pause(self, seconds: float) -> None:
        if self.server.stopping.wait(seconds):
            raise Closed

    def hold(self) -> None:
        """Keep the connection open, sending nothing, until the server stops."""
        self.server.stopping.wait()
        raise Closed


Handler = Callable[[Connection], None]


class RawServer:
    """A TCP server on a free loopback port; see the module docstring."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.connections = 0
        self.bytes_sent = 0
        self.errors: list[BaseException] = []
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.05)  # closing a socket does not wake an accept() blocked on it
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> Self:
        accepter = threading.Thread(target=self._accept, name="raw-server", daemon=True)
        accepter.start()
        self._threads.append(accepter)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stopping.set()
        self._listener.close()
        with self.lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        deadline = time.monotonic() + 5
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self._sockets.append(sock)
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, sock: socket.socket) -> None:
        try:
            self.handler(Connection(sock, self))
        except Closed:
            pass
        except BaseException as exc:  # reported by the test that owns the server
            self.errors.append(exc)
        finally:
            with contextlib.suppress(OSError):
                sock.close()
