"""Case 5: JSON nested 100,000 levels deep (in a 200 body, an error body, an event) is a typed error.

It used to raise a raw RecursionError, and the CLI printed a 28-line traceback. JSON from the
server may nest at most `ResponseLimits.max_json_depth` (128) levels.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inference_api.cli import main
from inference_api.errors import APIResponseError, ServerError, StreamError
from tests.hostile import harness
from tests.hostile.harness import MODES, TOKEN
from tests.hostile.rawserver import Connection, Handler, RawServer

DEEP = b"[" * 100_000 + b"]" * 100_000
# Deeper than the limit, yet shallow enough for Python's own parser: the limit must catch it too.
DEEPISH = b"[" * 200 + b"]" * 200


def answer(connection: Connection, status: int, content_type: str, body: bytes) -> None:
    head = f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    connection.send(head.encode() + b"Connection: close\r\n\r\n" + body)


def deep_everywhere(nested: bytes, status: int = 200) -> Handler:
    """Predictions whose output nests `nested`; streams whose `error` event does; `status` for the rest."""

    def handle(connection: Connection) -> None:
        request = connection.request()
        if request.path.endswith("/stream") or request.path == "/v1/run_sse":
            events = b"id: 1\nevent: output\ndata: a\n\nid: 2\nevent: error\ndata: " + nested + b"\n\n"
            answer(connection, 200, "text/event-stream", events)
            return
        base = connection.server.base_url
        body = harness.envelope(base, status="succeeded", output="DEEP").replace(b'"DEEP"', nested)
        answer(connection, status, "application/json", body if status == 200 else nested)

    return handle


@pytest.mark.parametrize("nested", [DEEP, DEEPISH], ids=["100k levels", "200 levels"])
@pytest.mark.parametrize("mode", MODES)
def test_deep_json_in_a_body_or_an_event_is_a_typed_error(mode: str, nested: bytes, tmp_path: Path) -> None:
    names = ("get", "create", "cancel", "run", "stream", "stream_prediction", "wait", "wait_stream")
    with RawServer(deep_everywhere(nested)) as server:
        outcomes = harness.run_calls(mode, server.base_url, tmp_path, deadline=20.0, names=names)
    for outcome in outcomes:
        if outcome.call.startswith("stream"):
            assert isinstance(outcome.error, StreamError), (outcome.call, outcome.error)
            assert outcome.error.text == "a"
        else:
            assert isinstance(outcome.error, APIResponseError), (outcome.call, outcome.error)
            assert "nested deeper than 128 levels" in str(outcome.error)


@pytest.mark.parametrize("mode", MODES)
def test_deep_json_in_an_error_body_is_shown_as_text(mode: str, tmp_path: Path) -> None:
    with RawServer(deep_everywhere(DEEP, status=500)) as server:
        outcomes = harness.run_calls(mode, server.base_url, tmp_path, deadline=20.0, names=("get",), retries=0)
    (outcome,) = outcomes
    assert isinstance(outcome.error, ServerError), outcome.error
    assert "[[[[" in str(outcome.error) and len(str(outcome.error)) < 500


@pytest.mark.parametrize(
    "command",
    [["get", harness.PREDICTION_ID], ["wait", harness.PREDICTION_ID], ["stream", harness.MODEL, "-i", "prompt=hi"]],
    ids=["get", "wait", "stream"],
)
def test_the_cli_prints_one_line_and_no_traceback(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with RawServer(deep_everywhere(DEEP)) as server:
        code = main(["--token", TOKEN, "--base-url", server.base_url, *command])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("inference-api: "), err
    assert "Traceback" not in out + err and TOKEN not in out + err


def test_a_deep_done_event_ends_the_stream_without_a_reason() -> None:
    from inference_api import streaming

    def handle(connection: Connection) -> None:
        connection.request()
        answer(
            connection,
            200,
            "text/event-stream",
            b"id: 1\nevent: output\ndata: a\n\nid: 2\nevent: done\ndata: " + DEEP + b"\n\n",
        )

    with RawServer(handle) as server:
        client = harness.client_for("sync", server.base_url, 20.0)
        assert "".join(streaming.stream(client, harness.MODEL, {"prompt": "hi"})) == "a"
