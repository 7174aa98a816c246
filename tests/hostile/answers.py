"""What hostile servers answer, as RawServer handlers and pieces of them (not a test module)."""

from __future__ import annotations

from tests.hostile import harness
from tests.hostile.rawserver import Connection, RawServer, Request


def token_of(request: Request) -> str:
    return request.headers.get("authorization", "").partition(" ")[2]


def content_type(path: str) -> str:
    """The media type the API answers `path` with."""
    if path.endswith("/stream") or path == "/v1/run_sse":
        return "text/event-stream"
    if path.startswith("/files/"):
        return "video/mp4"
    return "application/json"


def is_stream(request: Request) -> bool:
    return content_type(request.path) == "text/event-stream"


def send(connection: Connection, status: str, content_type: str, body: bytes, *headers: str) -> None:
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}", *headers]
    connection.send(("\r\n".join([*lines, "Connection: close"]) + "\r\n\r\n").encode() + body)


def prediction(connection: Connection, request: Request, **overrides: object) -> None:
    send(connection, "200 OK", "application/json", harness.envelope(connection.server.base_url, **overrides))


def events(connection: Connection, body: bytes, *headers: str) -> None:
    send(connection, "200 OK", "text/event-stream", b"id: 1\nevent: output\ndata: a\n\n" + body, *headers)


def chunked(connection: Connection, size_line: str) -> None:
    connection.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    connection.send(b'5\r\n{"dat\r\n' + size_line.encode() + b"\r\n\r\n")
    connection.pause(0.2)


def garbage_chunk(connection: Connection) -> None:
    """A chunked 200 whose second chunk-size line is garbage, the connection then held open."""
    request = connection.request()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type(request.path)}\r\nTransfer-Encoding: chunked\r\n\r\n"
    connection.send(head.encode())
    connection.send(b'5\r\n{"dat\r\n')
    connection.pause(0.05)
    connection.send(b"zz\r\n\r\n")
    connection.hold()


def silent(connection: Connection) -> None:
    """Reads the request and never answers."""
    connection.request()
    connection.hold()


def serve(body: bytes, *headers: str) -> RawServer:
    """A server that answers every request with `body` as a 200 video/mp4."""

    def handle(connection: Connection) -> None:
        connection.request()
        head = ["HTTP/1.1 200 OK", "Content-Type: video/mp4", f"Content-Length: {len(body)}", *headers]
        connection.send(("\r\n".join([*head, "Connection: close"]) + "\r\n\r\n").encode() + body)

    return RawServer(handle)
