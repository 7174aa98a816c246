"""A minimal HTTP/1.1 server for benchmarks that need more than the mock server can give (not a benchmark).

    with raw_server() as base_url:
        ...  # GET {base_url}/v1/predictions/p{N}            a succeeded prediction with N output pieces
             # GET {base_url}/v1/predictions/p{N}/stream     its event stream: N `output` events, then `done`
             # GET {base_url}/files/{size}.bin              `size` bytes (Content-Length), from memory

It runs in a process of its own (`python benchmarks/_rawserver.py` prints its base URL), so that
the client's CPU time is the client's alone. Bodies are built once and written whole: the
server costs next to nothing, so the figures are the client's. The mock server caps a stream at
2,048 pieces and pays for spec validation and pacing; this one streams 32k pieces in a few
milliseconds.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import re
import sys
from contextlib import AbstractContextManager
from functools import cache

from _harness import ServerProcess, server_process, started_server

TOKEN = "bench-token"  # noqa: S105 (a benchmark token for a local server)
VERSION = "f1d50bb24186c52daae319ca8366e53debdaa9e0ae7ff976e918df752732ccc4"
WORDS = [" the", " quick", " brown", " fox", " jumps", " over", " a", " lazy", " dog", ",", " café", " naïve", "."]
_FILE_BLOCK = 1024 * 1024
_PREDICTION = re.compile(r"/v1/predictions/p(\d+)(/stream)?")
_FILE = re.compile(r"/files/(\d+)\.bin")


def pieces(count: int) -> list[str]:
    """The output pieces of prediction `p{count}`."""
    return [WORDS[index % len(WORDS)] for index in range(count)]


def prediction_json(base_url: str, count: int, *, status: str = "succeeded") -> dict[str, object]:
    """Prediction `p{count}` as the API sends it; its output is all its pieces once it succeeded."""
    prediction_id = f"p{count}"
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC).isoformat()
    done = status == "succeeded"
    return {
        "id": prediction_id,
        "model": "meta/llama-2-7b-chat",
        "version": VERSION,
        "status": status,
        "input": {"prompt": "Plan a day"},
        "output": pieces(count) if done else None,
        "error": None,
        "logs": "Generated tokens\n" if done else None,
        "created_at": now,
        "started_at": now,
        "completed_at": now if done else None,
        "urls": {
            "get": f"{base_url}/v1/predictions/{prediction_id}",
            "cancel": f"{base_url}/v1/predictions/{prediction_id}/cancel",
            "stream": f"{base_url}/v1/predictions/{prediction_id}/stream",
        },
        "metrics": {"predict_time": 1.0} if done else None,
    }


@cache
def _prediction_body(base_url: str, count: int) -> bytes:
    return json.dumps({"data": prediction_json(base_url, count)}).encode()


@cache
def _stream_body(count: int) -> bytes:
    events = [f"id: {index}\nevent: output\ndata: {piece}\n\n" for index, piece in enumerate(pieces(count), 1)]
    events.append(f'id: {count + 1}\nevent: done\ndata: {{"reason": ""}}\n\n')
    return "".join(events).encode()


@cache
def _file_block() -> bytes:
    return bytes(range(256)) * (_FILE_BLOCK // 256)


def _head(status: str, content_type: str, length: int) -> bytes:
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {length}\r\nx-request-id: bench\r\n\r\n"
    ).encode()


async def _serve_one(base_url: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, _, headers = head.decode("latin-1").partition("\r\n")
            method, target, _ = request_line.split(" ", 2)
            length = re.search(r"(?im)^content-length:\s*(\d+)", headers)
            if length:
                await reader.readexactly(int(length.group(1)))
            path = target.partition("?")[0]
            if (match := _PREDICTION.fullmatch(path)) and method == "GET":
                count = int(match.group(1))
                if match.group(2):
                    body = _stream_body(count)
                    writer.write(_head("200 OK", "text/event-stream", len(body)) + body)
                else:
                    body = _prediction_body(base_url, count)
                    writer.write(_head("200 OK", "application/json", len(body)) + body)
            elif (match := _FILE.fullmatch(path)) and method == "GET":
                size = int(match.group(1))
                writer.write(_head("200 OK", "application/octet-stream", size))
                block = memoryview(_file_block())
                left = size
                while left > 0:
                    writer.write(block[: min(left, len(block))])
                    left -= min(left, len(block))
                    await writer.drain()
            else:
                writer.write(_head("404 Not Found", "application/json", 2) + b"{}")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _main() -> None:
    base_url = ""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _serve_one(base_url, reader, writer)

    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    print(base_url, flush=True)
    async with server:
        await server.serve_forever()


def raw_server() -> AbstractContextManager[str]:
    """Start the server in its own process; the context yields its base URL."""
    return server_process([sys.executable, __file__])


def raw_server_process() -> AbstractContextManager[ServerProcess]:
    """`raw_server`, yielding the process too: what the server's own CPU costs per request."""
    return started_server([sys.executable, __file__])


if __name__ == "__main__":
    asyncio.run(_main())
