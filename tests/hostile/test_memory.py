"""Case 3: a stream, a body or a JSON document cannot grow the client's memory without bound.

The worst stream is one line that never ends: 3 GB without a newline grew the client to 3.95 GB,
and `stream_prediction` then reconnected and read it again. Now the decoder stops at
`ResponseLimits.max_event_size` (16 Mi characters) with a `StreamError`, which is not retried.
The growth is measured in a process of its own (tests/hostile/memory_probe.py).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from inference_api import calls, streaming
from inference_api._limits import ResponseLimits
from inference_api.errors import APIResponseError, ServerError, StreamError
from tests.hostile import harness
from tests.hostile.harness import MODES, PREDICTION_ID, TOKEN
from tests.hostile.rawserver import Connection, Handler, RawServer

GiB = 1024**3
MiB = 1024**2
ROOT = Path(__file__).resolve().parents[2]


def serve_endless(connection: Connection, head: bytes, piece: bytes, total: int = 3 * GiB, prefix: bytes = b"") -> None:
    connection.send(head + prefix)
    chunk = piece * max(1, MiB // len(piece))
    sent = len(prefix)
    while sent < total:
        connection.send(chunk)
        sent += len(chunk)


def stream_handler(piece: bytes, prefix: bytes = b"") -> Handler:
    def handle(connection: Connection) -> None:
        request = connection.request()
        if request.path.endswith("/stream"):
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
            serve_endless(connection, head, piece, prefix=prefix)
            return
        body = harness.envelope(connection.server.base_url)
        connection.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

    return handle


def stream_requests(server: RawServer) -> int:
    return sum(1 for request in server.requests if request.path.endswith("/stream"))


def test_a_3_gb_stream_without_a_newline_stops_at_the_limit_in_bounded_memory() -> None:
    # A probe process per mode, all at once, each against a server of its own.
    with contextlib.ExitStack() as stack:
        servers = {mode: stack.enter_context(RawServer(stream_handler(b"x", prefix=b"data: "))) for mode in MODES}
        probes = {
            mode: subprocess.Popen(
                [sys.executable, "-m", "tests.hostile.memory_probe", mode, server.base_url],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for mode, server in servers.items()
        }
        outputs = {mode: probe.communicate(timeout=60) for mode, probe in probes.items()}
        sent = {mode: server.bytes_sent for mode, server in servers.items()}
        connections = {mode: stream_requests(server) for mode, server in servers.items()}
    for mode, (stdout, stderr) in outputs.items():
        assert probes[mode].returncode == 0, stderr
        result = json.loads(stdout)
        assert result["error"] == "StreamError", (mode, result)
        assert "longer than 16777216 characters" in result["message"], (mode, result)
        assert result["growth_bytes"] < 100 * MiB, f"{mode}: grew by {result['growth_bytes'] / MiB:.0f} MiB"
        assert sent[mode] < 3 * GiB // 10, f"{mode}: the client read {sent[mode] / MiB:.0f} MiB before stopping"
        assert connections[mode] == 1, "an event over the limit is not retried by reconnecting"
        assert TOKEN not in stdout + stderr


@pytest.mark.parametrize("mode", MODES)
def test_an_event_of_endless_short_lines_stops_at_the_limit(mode: str, tmp_path: Path) -> None:
    with RawServer(stream_handler(b"data: " + b"y" * 58 + b"\n")) as server:
        outcomes = harness.run_calls(mode, server.base_url, tmp_path, deadline=30.0, names=("stream_prediction",))
        sent, connections = server.bytes_sent, stream_requests(server)
    (outcome,) = outcomes
    assert isinstance(outcome.error, StreamError), outcome.error
    assert "ResponseLimits.max_event_size" in str(outcome.error)
    assert sent < 200 * MiB
    assert connections == 1


def test_the_event_limit_is_configurable(tmp_path: Path) -> None:
    with RawServer(stream_handler(b"x", prefix=b"data: ")) as server:
        client = harness.client_for("sync", server.base_url, 30.0, limits=ResponseLimits(max_event_size=1000))
        with pytest.raises(StreamError, match="longer than 1000 characters"):
            "".join(streaming.stream_prediction(client, harness.streaming_prediction(server.base_url)))
        assert server.bytes_sent < 64 * MiB


def body_handler(status: int, chunked: bool) -> Handler:
    def handle(connection: Connection) -> None:
        connection.request()
        framing = b"Transfer-Encoding: chunked" if chunked else f"Content-Length: {3 * GiB}".encode()
        head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n".encode() + framing + b"\r\n\r\n"
        if not chunked:
            serve_endless(connection, head, b"[1,")
            return
        connection.send(head)
        chunk = b"[1," * (MiB // 3)
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        for _ in range(3 * GiB // len(chunk)):
            connection.send(framed)

    return handle


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("mode", MODES)
def test_a_3_gb_json_body_is_refused_after_the_limit(mode: str, chunked: bool, tmp_path: Path) -> None:
    with RawServer(body_handler(200, chunked)) as server:
        outcomes = harness.run_calls(mode, server.base_url, tmp_path, deadline=30.0, names=("get", "create"))
        sent = server.bytes_sent
    for outcome in outcomes:
        assert isinstance(outcome.error, APIResponseError), outcome.error
        assert "larger than 33554432 bytes" in str(outcome.error)
    assert sent < 300 * MiB


@pytest.mark.parametrize("mode", MODES)
def test_a_3_gb_error_body_is_cut_and_shown_in_part(mode: str, tmp_path: Path) -> None:
    with RawServer(body_handler(500, chunked=True)) as server:
        outcomes = harness.run_calls(mode, server.base_url, tmp_path, deadline=30.0, names=("create",), retries=0)
    (outcome,) = outcomes
    assert isinstance(outcome.error, ServerError), outcome.error
    assert len(str(outcome.error)) < 1000


def test_the_body_limit_is_configurable() -> None:
    def small(connection: Connection) -> None:
        connection.request()
        body = harness.envelope(connection.server.base_url, output=["x" * 5000])
        connection.send(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)

    with RawServer(small) as server:
        roomy = harness.client_for("sync", server.base_url, 10.0)
        assert calls.get(roomy, PREDICTION_ID).output == ["x" * 5000]
        tight = harness.client_for("sync", server.base_url, 10.0, limits=ResponseLimits(max_body_bytes=4096))
        with pytest.raises(APIResponseError, match="larger than 4096 bytes"):
            calls.get(tight, PREDICTION_ID)
