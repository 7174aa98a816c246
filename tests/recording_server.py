"""A tiny loopback HTTP server that records every request and answers with one fixed response.

    with RecordingServer(status=201, body={"data": {...}}) as server:   # or content=b"...", content_type=...
        ...  # point something at server.base_url
        server.requests  # [RecordedRequest(method, path, headers, body), ...], as the mock server's log

For tests that must show what a program sends (or that it sends nothing at all), without the
mock server's validation in the way. Not a test module.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from inference_api_mock.faults import RecordedRequest


class RecordingServer:
    def __init__(
        self,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        content: bytes | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.requests: list[RecordedRequest] = []
        recorder = self
        answer = json.dumps(body).encode() if content is None else content

        class Handler(BaseHTTPRequestHandler):
            def _record_and_answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received = {name.lower(): value for name, value in self.headers.items()}
                recorder.requests.append(RecordedRequest(self.command, self.path, received, self.rfile.read(length)))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(answer)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _record_and_answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="recording-server", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
