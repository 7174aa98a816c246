"""The generated client builds the guide's requests and parses every documented response.

These drive the generated endpoint functions through httpx.MockTransport: they test request
building and response parsing, not a server (the mock server's tests do that over loopback).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import inference_api_client
from inference_api_client import AuthenticatedClient
from inference_api_client.api.models import run_model, run_model_sse
from inference_api_client.api.predictions import cancel_prediction, create_prediction, get_prediction
from inference_api_client.models import (
    CreatePredictionRequest,
    ErrorResponse,
    Prediction,
    PredictionResponse,
    PredictionStatus,
    RunRequest,
    StreamDoneEvent,
    StreamLogsEvent,
    StreamOutputEvent,
    ValidationIssue,
)
from inference_api_mock.models import LLAMA
from inference_api_mock.testing import MockServer
from tests.guide import guide_payloads

TOKEN = "guide-token-1234"
BASE_URL = "https://fqpedg8vi2.ap-northeast-1.awsapprunner.com"


def prediction_json(status: str = "succeeded", **overrides: Any) -> dict[str, Any]:
    prediction = {
        "id": "ujebapbbulzpx25442efjv4qba",
        "model": "meta/llama-2-7b-chat",
        "version": "f1d50bb24186c52daae319ca8366e53debdaa9e0ae7ff976e918df752732ccc4",
        "status": status,
        "input": {"prompt": "Plan a day"},
        "output": ["Howdy", ", partner!"],
        "error": None,
        "logs": "step 1\nstep 2\n",
        "created_at": "2026-11-26T07:00:00.250000+00:00",
        "started_at": "2026-11-26T07:00:01.125000+00:00",
        "completed_at": "2026-11-26T07:00:03.500000+00:00",
        "urls": {
            "get": f"{BASE_URL}/v1/predictions/ujebapbbulzpx25442efjv4qba",
            "cancel": f"{BASE_URL}/v1/predictions/ujebapbbulzpx25442efjv4qba/cancel",
            "stream": None,
        },
        "metrics": {"predict_time": 2.5},
    }
    return prediction | overrides


class Recorder:
    """An httpx transport that records requests and answers with a fixed response."""

    def __init__(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.status, self.body, self.headers = status, body, headers or {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json=self.body, headers=self.headers)

    def client(self) -> AuthenticatedClient:
        client = AuthenticatedClient(base_url=BASE_URL, token=TOKEN)
        client.set_httpx_client(
            httpx.Client(
                base_url=BASE_URL,
                headers={"Authorization": f"Bearer {TOKEN}"},
                transport=httpx.MockTransport(self),
            )
        )
        return client


def sent(recorder: Recorder) -> tuple[str, str, dict[str, str], Any]:
    (request,) = recorder.requests
    body = json.loads(request.content) if request.content else None
    return request.method, request.url.path, dict(request.headers), body


def test_create_prediction_sends_the_guide_request() -> None:
    create_body, _, _ = guide_payloads()
    recorder = Recorder(201, {"data": prediction_json("starting", output=None)})
    response = create_prediction.sync_detailed(
        client=recorder.client(), body=CreatePredictionRequest.from_dict(create_body)
    )
    method, path, headers, body = sent(recorder)
    assert (method, path) == ("POST", "/v1/predictions")
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["content-type"] == "application/json"
    assert body == create_body
    assert response.status_code == 201
    assert isinstance(response.parsed, PredictionResponse)
    assert response.parsed.data.status is PredictionStatus.STARTING


def test_get_prediction_sends_the_guide_request_and_parses_every_field() -> None:
    recorder = Recorder(200, {"data": prediction_json(), "request_id": "r1"})
    parsed = get_prediction.sync(client=recorder.client(), prediction_id="ujebapbbulzpx25442efjv4qba")
    method, path, headers, body = sent(recorder)
    assert (method, path, body) == ("GET", "/v1/predictions/ujebapbbulzpx25442efjv4qba", None)
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert isinstance(parsed, PredictionResponse)
    prediction = parsed.data
    assert prediction.status is PredictionStatus.SUCCEEDED
    assert prediction.output == ["Howdy", ", partner!"]
    assert prediction.metrics and prediction.metrics.predict_time == 2.5
    assert prediction.urls.cancel.endswith("/cancel")
    assert prediction.completed_at and prediction.completed_at.isoformat() == "2026-11-26T07:00:03.500000+00:00"
    assert parsed.additional_properties == {"request_id": "r1"}, "the envelope is open to extra fields"
    assert prediction.to_dict() == prediction_json(), "every field round-trips"


def test_cancel_prediction_sends_the_guide_request() -> None:
    recorder = Recorder(200, {"data": prediction_json("canceled", output=None)})
    parsed = cancel_prediction.sync(client=recorder.client(), prediction_id="eoyokbzbm3yfdhpspr5xak24ye")
    method, path, headers, _ = sent(recorder)
    assert (method, path) == ("POST", "/v1/predictions/eoyokbzbm3yfdhpspr5xak24ye/cancel")
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert isinstance(parsed, PredictionResponse) and parsed.data.status is PredictionStatus.CANCELED


def test_run_model_sends_the_guide_request() -> None:
    _, run_body, _ = guide_payloads()
    recorder = Recorder(200, {"data": prediction_json()})
    parsed = run_model.sync(client=recorder.client(), body=RunRequest.from_dict(run_body))
    method, path, headers, body = sent(recorder)
    assert (method, path, body) == ("POST", "/v1/run", run_body)
    assert headers["content-type"] == "application/json"
    assert isinstance(parsed, PredictionResponse)


def test_run_model_sse_sends_the_guide_request() -> None:
    _, _, sse_body = guide_payloads()
    recorder = Recorder(200, None)
    run_model_sse.sync_detailed(client=recorder.client(), body=RunRequest.from_dict(sse_body))
    method, path, headers, body = sent(recorder)
    assert (method, path, body) == ("POST", "/v1/run_sse", sse_body)
    assert headers["authorization"] == f"Bearer {TOKEN}"


def test_unknown_prediction_status_parses_as_a_string() -> None:
    prediction = Prediction.from_dict(prediction_json("queued_for_gpu"))
    assert prediction.status == "queued_for_gpu"
    assert not isinstance(prediction.status, PredictionStatus)


ERROR_BODIES: dict[int, dict[str, Any]] = {
    401: {"detail": "Invalid or missing token."},
    404: {"detail": "Prediction not found."},
    422: {"detail": [{"loc": ["body", "version"], "msg": "Field required", "type": "missing"}]},
    429: {"detail": "Request was throttled."},
    503: {"detail": "Service unavailable."},
}


@pytest.mark.parametrize("status", ERROR_BODIES)
@pytest.mark.parametrize(
    "call",
    [
        lambda client: get_prediction.sync_detailed(client=client, prediction_id="abc"),
        lambda client: cancel_prediction.sync_detailed(client=client, prediction_id="abc"),
        lambda client: run_model.sync_detailed(
            client=client, body=RunRequest.from_dict({"model": "a/b:" + "0" * 64, "input": {}})
        ),
    ],
    ids=["get", "cancel", "run"],
)
def test_error_bodies_parse(status: int, call: Callable[[AuthenticatedClient], Any]) -> None:
    recorder = Recorder(status, ERROR_BODIES[status], {"Retry-After": "3"} if status in (429, 503) else None)
    response = call(recorder.client())
    if response.parsed is None:
        # 404 is not a documented answer of runModel, which has no path id.
        assert status == 404
        return
    assert isinstance(response.parsed, ErrorResponse)
    detail = response.parsed.detail
    if status == 422:
        assert isinstance(detail, list) and isinstance(detail[0], ValidationIssue)
        assert (detail[0].loc, detail[0].msg, detail[0].type_) == (["body", "version"], "Field required", "missing")
    else:
        assert detail == ERROR_BODIES[status]["detail"]
    assert response.headers.get("Retry-After") == ("3" if status in (429, 503) else None)


def test_the_generated_package_imports_nothing_of_the_sdk() -> None:
    package = Path(inference_api_client.__file__).parent
    for source in package.rglob("*.py"):
        lines = source.read_text().splitlines()
        assert not [
            line
            for line in lines
            if line.lstrip().startswith(("import inference_api", "from inference_api"))
            and not line.lstrip().startswith(("import inference_api_client", "from inference_api_client"))
        ], source


def test_run_model_sse_streams_typed_events_from_the_mock_while_the_model_runs() -> None:
    """At speed 1 the model runs for a while: its first event arrives while it is still running."""
    with MockServer(tokens=(TOKEN,), speed=1.0) as server:
        store = server.app.state.store
        body = RunRequest.from_dict({"model": LLAMA, "input": {"prompt": "Plan a day", "max_new_tokens": 12}})
        with (
            AuthenticatedClient(base_url=server.base_url, token=TOKEN) as client,
            run_model_sse.sync_stream(client=client, body=body) as events,
        ):
            received = []
            running_at_first = None
            for event in events:
                if running_at_first is None:
                    running_at_first = [not prediction.is_final for prediction in store._predictions.values()]
                received.append(event)
    assert running_at_first == [True], "the first event came before the model finished"
    assert all(isinstance(event, StreamOutputEvent | StreamLogsEvent | StreamDoneEvent) for event in received)
    assert isinstance(received[-1], StreamDoneEvent)
    assert "".join(event.data for event in received if isinstance(event, StreamOutputEvent))
