"""Statuses, timestamps, logs and metrics of a prediction; cancel; /v1/run."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from httpx_sse import EventSource

from inference_api_mock.models import ECHO, FAIL, LLAMA
from inference_api_mock.testing import MockServer
from tests.server.conftest import TOKEN, assert_documented, bearer, create, stream_events, version_of, wait_final


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_create_answers_201_at_once_with_location_and_urls(server: MockServer, client: httpx.Client) -> None:
    response = client.post("/v1/predictions", json={"version": version_of(LLAMA), "input": {"prompt": "hi"}})
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["status"] == "starting"
    assert data["started_at"] is None and data["completed_at"] is None and data["metrics"] is None
    assert response.headers["location"] == data["urls"]["get"] == f"{server.base_url}/v1/predictions/{data['id']}"
    assert data["urls"]["cancel"] == f"{server.base_url}/v1/predictions/{data['id']}/cancel"
    assert "stream" not in data["urls"]
    assert data["model"] == "meta/llama-2-7b-chat" and data["version"] == version_of(LLAMA)
    streamed = create(client, LLAMA, {"prompt": "hi"}, stream=True)
    assert streamed["urls"]["stream"] == f"{server.base_url}/v1/predictions/{streamed['id']}/stream"


def test_lifecycle_starting_processing_succeeded_with_growing_logs() -> None:
    # At speed 1 the model boots for 0.5 s and writes 20 pieces a second: slow enough to watch.
    with (
        MockServer(tokens=(TOKEN,), speed=1.0) as server,
        httpx.Client(base_url=server.base_url, headers=bearer(TOKEN), timeout=10) as client,
    ):
        created = create(client, LLAMA, {"prompt": "Tell me about the fog", "max_new_tokens": 12}, stream=True)
        assert created["status"] == "starting"
        seen = []
        with client.stream("GET", created["urls"]["stream"]) as response:
            for event in EventSource(response).iter_sse():
                if event.event == "output":
                    snapshot = client.get(created["urls"]["get"]).json()["data"]
                    seen.append((snapshot["status"], snapshot["logs"], len(snapshot["output"])))
        final = wait_final(client, created["id"])
    assert seen[0][0] == "processing"
    statuses = [status for status, _, _ in seen]
    assert statuses == sorted(statuses, key=["processing", "succeeded"].index)
    log_lengths = [len(logs) for _, logs, _ in seen]
    assert log_lengths == sorted(log_lengths) and len(final["logs"]) > log_lengths[0]
    output_lengths = [count for _, _, count in seen]
    assert output_lengths == sorted(output_lengths)
    assert final["status"] == "succeeded" and len(final["output"]) == 12
    assert at(final["created_at"]) <= at(final["started_at"]) <= at(final["completed_at"])
    assert final["metrics"]["predict_time"] >= 0
    assert final["error"] is None
    assert_documented("Prediction", final)


def test_failed_prediction_has_error_and_metrics(client: httpx.Client) -> None:
    final = wait_final(client, create(client, FAIL)["id"])
    assert final["status"] == "failed"
    assert "always fails" in final["error"]
    assert final["output"] is None and final["metrics"]["predict_time"] >= 0
    assert "Something went wrong" in final["logs"]


def test_cancel_running_prediction_makes_it_canceled_and_ends_its_stream() -> None:
    with (
        MockServer(tokens=(TOKEN,), speed=1.0) as server,
        httpx.Client(base_url=server.base_url, headers=bearer(TOKEN), timeout=10) as client,
    ):
        created = create(client, LLAMA, {"prompt": "a long one", "max_new_tokens": 500}, stream=True)
        response = client.post(created["urls"]["cancel"])
        assert response.status_code == 200
        canceled = response.json()["data"]
        assert canceled["status"] == "canceled" and canceled["completed_at"] is not None
        assert_documented("PredictionResponse", response.json())
        events = stream_events(client, "GET", created["urls"]["stream"])
        assert events[-1].event == "done" and events[-1].json() == {"reason": "canceled"}
        again = client.get(created["urls"]["get"]).json()["data"]
        assert again["status"] == "canceled" and again["completed_at"] == canceled["completed_at"]


def test_cancel_of_finished_prediction_returns_it_unchanged(client: httpx.Client) -> None:
    created = create(client, ECHO, {"x": 1})
    final = wait_final(client, created["id"])
    response = client.post(f"/v1/predictions/{created['id']}/cancel")
    assert response.status_code == 200
    assert response.json()["data"] == final


def test_run_waits_and_answers_with_the_finished_prediction(client: httpx.Client) -> None:
    response = client.post("/v1/run", json={"model": LLAMA, "input": {"prompt": "hello", "max_new_tokens": 7}})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "succeeded" and len(data["output"]) == 7
    assert_documented("PredictionResponse", response.json())
    failed = client.post("/v1/run", json={"model": FAIL, "input": {}}).json()["data"]
    assert failed["status"] == "failed" and failed["error"]


def test_speed_must_be_positive() -> None:
    for speed in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="speed"):
            MockServer(tokens=(TOKEN,), speed=speed)
