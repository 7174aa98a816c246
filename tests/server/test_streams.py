"""Event streams: /v1/run_sse and the prediction stream URL, as openapi.yaml describes them (docs/design.md, A7, A8)."""

from __future__ import annotations

import json

import httpx
import pytest

from inference_api_mock import sse
from inference_api_mock.models import ECHO, FAIL, LLAMA, MISTRAL
from inference_api_mock.spec import load_spec
from inference_api_mock.testing import MockServer
from tests.server.conftest import TOKEN, bearer, create, stream_events, wait_final


def test_run_sse_streams_output_with_ids_and_ends_with_done(client: httpx.Client) -> None:
    events = stream_events(client, "POST", "/v1/run_sse", json={"model": LLAMA, "input": {"prompt": "hi"}})
    assert [int(event.id) for event in events] == list(range(1, len(events) + 1))
    assert events[-1].event == "done" and events[-1].json() == {}
    assert {event.event for event in events} == {"logs", "output", "done"}
    for event in events:
        item = {"event": event.event, "data": event.data, "id": event.id}
        assert load_spec().check_component("StreamEvent", item) == []
    text = "".join(event.data for event in events if event.event == "output")
    final = client.post("/v1/run", json={"model": LLAMA, "input": {"prompt": "hi"}}).json()["data"]
    assert text == "".join(final["output"])  # line breaks survive the multi-line encoding


def test_multi_line_text_travels_as_several_data_lines(client: httpx.Client) -> None:
    with client.stream("POST", "/v1/run_sse", json={"model": MISTRAL, "input": {"prompt": "z"}}) as response:
        raw = response.read().decode()
    blocks = [block for block in raw.split("\n\n") if "event: output" in block]
    multi = [block for block in blocks if block.count("\ndata: ") >= 2]
    assert multi, "the text has line breaks, so some event has several data lines"
    assert raw.startswith("retry: 1000\n") and raw.count("retry:") == 1


def test_failed_run_streams_error_then_done(client: httpx.Client) -> None:
    events = stream_events(client, "POST", "/v1/run_sse", json={"model": FAIL, "input": {}})
    assert [event.event for event in events[-2:]] == ["error", "done"]
    assert "always fails" in json.loads(events[-2].data)["detail"]
    assert events[-1].json() == {"reason": "failed"}


def test_stream_url_replays_and_resumes_after_last_event_id(client: httpx.Client) -> None:
    created = create(client, LLAMA, {"prompt": "resume me", "max_new_tokens": 20}, stream=True)
    everything = stream_events(client, "GET", created["urls"]["stream"])
    assert everything[-1].event == "done"
    for last in (1, 7, len(everything) - 1):
        resumed = stream_events(client, "GET", created["urls"]["stream"], headers={"Last-Event-ID": str(last)})
        assert [(e.id, e.event, e.data) for e in resumed] == [(e.id, e.event, e.data) for e in everything[last:]]
    after_done = stream_events(client, "GET", created["urls"]["stream"], headers={"Last-Event-ID": everything[-1].id})
    assert after_done == []


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "1" * 13])
def test_a_malformed_last_event_id_is_422(client: httpx.Client, value: str) -> None:
    created = create(client, ECHO, stream=True)
    response = client.get(created["urls"]["stream"], headers={"Last-Event-ID": value})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Last-Event-ID"]


def test_keep_alive_comments_while_idle() -> None:
    # At speed 1 the model boots for 0.5 s before its first piece: the stream is idle meanwhile.
    with (
        MockServer(tokens=(TOKEN,), speed=1.0, keepalive_seconds=0.05) as server,
        httpx.Client(base_url=server.base_url, headers=bearer(TOKEN), timeout=10) as client,
        client.stream("POST", "/v1/run_sse", json={"model": LLAMA, "input": {"prompt": "x", "max_new_tokens": 2}}) as r,
    ):
        lines = list(r.iter_lines())
    assert ": keep-alive" in lines
    assert "event: done" in lines


def test_stream_of_a_running_prediction_follows_it_live(client: httpx.Client) -> None:
    created = create(client, LLAMA, {"prompt": "live", "max_new_tokens": 30}, stream=True)
    events = stream_events(client, "GET", created["urls"]["stream"])
    final = wait_final(client, created["id"])
    assert "".join(e.data for e in events if e.event == "output") == "".join(final["output"])


def test_encode_splits_every_kind_of_line_break() -> None:
    encoded = sse.encode(sse.Event(3, "output", "a\nb\r\nc\rd"), retry_ms=500).decode()
    assert encoded == "retry: 500\nid: 3\nevent: output\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
    assert sse.encode(sse.Event(1, "output", " lead")).endswith(b"data:  lead\n\n")
