"""Case 4: a resumed stream delivers every event exactly once, and a stalled one gives up.

A server may resume *after* Last-Event-ID (as it should), *at* it (sending that event again) or
from the start; each must yield `abcde`. A server that replays its only event and then stalls or
closes brings nothing new: those reconnections are bounded, and the StreamError carries the text.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from inference_api._streaming import ResumePolicy
from inference_api.errors import StreamError
from tests.hostile import harness
from tests.hostile.harness import MODES
from tests.hostile.rawserver import Connection, Handler, RawServer

LETTERS = "abcde"


def event(event_id: int, kind: str = "output", data: str | None = None) -> bytes:
    body = LETTERS[event_id - 1] if data is None else data
    return f"id: {event_id}\nevent: {kind}\ndata: {body}\n\n".encode()


def resuming(resume_at: str) -> Handler:
    """Ids 1-3, then the connection drops; the next one starts where `resume_at` says."""

    def handle(connection: Connection) -> None:
        request = connection.request()
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\nretry: 10\n\n"
        last = int(request.headers.get("last-event-id", "0") or 0)
        if not last:
            connection.send(head + event(1) + event(2) + event(3) + b"id: 4\nevent: out")  # cut mid-event
            return
        first = {"after": last + 1, "at": last, "start": 1}[resume_at]
        connection.send(head + b"".join(event(i) for i in range(first, 6)) + event(6, "done", "{}"))

    return handle


@pytest.mark.parametrize("resume_at", ["after", "at", "start"])
@pytest.mark.parametrize("mode", MODES)
def test_a_resumed_stream_yields_each_event_once(mode: str, resume_at: str, tmp_path: Path) -> None:
    with RawServer(resuming(resume_at)) as server:
        (outcome,) = harness.run_calls(mode, server.base_url, tmp_path, deadline=20.0, names=("stream_prediction",))
        last_ids = [request.headers.get("last-event-id") for request in server.requests]
    assert outcome.error is None, outcome.error
    assert outcome.result == "abcde"
    assert last_ids == [None, "3"]


def replaying(then: str) -> Handler:
    """Sends event 1 on every connection (again after a resume), then stalls or closes."""

    def handle(connection: Connection) -> None:
        connection.request()
        connection.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nretry: 10\n\n" + event(1))
        if then == "stalls":
            connection.send(b": still here\n\n")
            connection.hold()

    return handle


@pytest.mark.parametrize("then", ["stalls", "closes"])
def test_a_server_that_only_replays_its_event_is_given_up_on(then: str, tmp_path: Path) -> None:
    # The read timeout ends each stalled connection; each reconnection brings nothing new.
    # Every mode at once, against one server.
    results = harness.run_everywhere(
        {then: replaying(then)}, tmp_path, deadline=30.0, names=("stream_prediction",), timeout=0.3
    )
    for (_, mode), (outcome,) in results.items():
        assert isinstance(outcome.error, StreamError), (mode, outcome.error)
        assert outcome.error.text == "a"
        assert f"gave up after {1 + ResumePolicy().max_attempts} connections" in str(outcome.error)


def test_events_are_not_repeated_to_on_event_either() -> None:
    from inference_api import streaming

    seen: list[str] = []
    lock = threading.Lock()

    def note(server_event: object) -> None:
        with lock:
            seen.append(getattr(server_event, "id", ""))

    with RawServer(resuming("at")) as server:
        client = harness.client_for("sync", server.base_url, 20.0)
        prediction = harness.streaming_prediction(server.base_url)
        text = "".join(streaming.stream_prediction(client, prediction, on_event=note))
    assert text == "abcde"
    assert seen == ["1", "2", "3", "4", "5", "6"]
