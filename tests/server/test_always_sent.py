"""What the mock server sends on every answer: every Prediction field, and an X-Request-Id.

openapi.yaml makes every Prediction field `required` (nullable where it can be empty), so that
reading one never meets `Unset`; the mock server must then send every field in every state. And
every response carries a fresh `X-Request-Id`, which the SDK's errors report as `request_id`.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml

from inference_api import NotFoundError, connect, get
from inference_api_mock.models import ECHO, FAIL, IMAGE_TO_VIDEO, LLAMA
from inference_api_mock.spec import find_spec_file
from inference_api_mock.testing import MockServer
from tests.server.conftest import TOKEN, create, version_of, wait_final

PREDICTION = yaml.safe_load(find_spec_file().read_text())["components"]["schemas"]["Prediction"]


def assert_every_field(prediction: dict[str, Any]) -> None:
    assert set(PREDICTION["required"]) <= set(prediction), set(PREDICTION["required"]) - set(prediction)


@pytest.mark.parametrize(
    ("ref", "values", "final"),
    [
        (LLAMA, {"prompt": "hi", "max_new_tokens": 3}, "succeeded"),
        (IMAGE_TO_VIDEO, {"image": "https://example.com/a.jpg", "prompt": "p", "num_inference_steps": 2}, "succeeded"),
        (ECHO, {"x": 1}, "succeeded"),
        (FAIL, {}, "failed"),
    ],
)
def test_every_prediction_field_is_sent_from_creation_to_the_end(
    client: httpx.Client, ref: str, values: dict[str, Any], final: str
) -> None:
    created = create(client, ref, values)
    assert_every_field(created)
    assert created["output"] is None and created["error"] is None and created["metrics"] is None
    finished = wait_final(client, created["id"])
    assert_every_field(finished)
    assert finished["status"] == final
    assert (finished["error"] is not None) == (final == "failed")
    assert finished["metrics"] is not None and finished["completed_at"] is not None


def test_a_canceled_prediction_and_a_run_send_every_field(client: httpx.Client) -> None:
    # At the shared server's speed (500) this one runs for 13 ms, which a loaded machine may spend
    # before the cancel arrives: a server at speed 1 gives it 6 s.
    with (
        MockServer(tokens=(TOKEN,), speed=1.0) as slow,
        httpx.Client(base_url=slow.base_url, headers=dict(client.headers), timeout=10.0) as slow_client,
    ):
        created = create(slow_client, LLAMA, {"prompt": "a long story", "max_new_tokens": 500})
        canceled = slow_client.post(f"/v1/predictions/{created['id']}/cancel").json()["data"]
    assert_every_field(canceled)
    assert canceled["status"] == "canceled"
    ran = client.post("/v1/run", json={"model": ECHO, "input": {"k": "v"}}).json()["data"]
    assert_every_field(ran)


def test_every_response_has_a_fresh_request_id(server: MockServer, client: httpx.Client) -> None:
    responses = [
        client.post("/v1/predictions", json={"version": version_of(ECHO), "input": {}}),
        client.get("/v1/predictions/no-such-id"),
        client.post("/v1/predictions", json={"version": "nope", "input": {}}),
        client.post("/v1/predictions", json={"version": "0" * 64, "input": {}}),
        client.delete("/v1/predictions"),
        client.get("/nowhere"),
        httpx.get(f"{server.base_url}/v1/predictions/x"),  # no token
        client.get("/openapi.yaml"),
    ]
    server.fault("GET /v1/predictions/{prediction_id}", status=503, retry_after="1")
    responses.append(client.get("/v1/predictions/planned-fault"))
    with client.stream("POST", "/v1/run_sse", json={"model": LLAMA, "input": {"prompt": "hi"}}) as stream:
        responses.append(stream)
    statuses = [response.status_code for response in responses]
    assert statuses == [201, 404, 422, 404, 405, 404, 401, 200, 503, 200]
    ids = [response.headers.get("x-request-id") for response in responses]
    assert all(ids) and len(set(ids)) == len(ids), ids


def test_an_sdk_error_carries_the_request_id_of_the_answer(server: MockServer) -> None:
    with connect(TOKEN, server.base_url, retries=0) as sdk_client:
        with pytest.raises(NotFoundError) as first:
            get(sdk_client, "no-such-prediction")
        with pytest.raises(NotFoundError) as second:
            get(sdk_client, "no-such-prediction")
    assert first.value.request_id and first.value.request_id.startswith("req_")
    assert second.value.request_id and second.value.request_id != first.value.request_id


def test_a_client_sent_request_id_is_not_echoed(client: httpx.Client) -> None:
    response = client.get("/v1/predictions/x", headers={"X-Request-Id": "chosen-by-the-client"})
    assert response.headers.get_list("x-request-id") == [response.headers["x-request-id"]]
    assert response.headers["x-request-id"].startswith("req_")
