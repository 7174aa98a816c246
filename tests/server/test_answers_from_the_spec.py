"""The mock server answers from the spec: a field openapi.yaml gains is sent, one it drops is not.

Its predictions and stream events are shaped by the spec's schemas (`Spec.shape`): every property
`Prediction` defines, the values the server knows, `null` or a schema-valid default for the others.
Each test here edits a copy of the document (a field added, required or optional; one removed)
and serves it, with no other change: what a maintainer gets after editing openapi.yaml.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from inference_api_mock.models import ECHO, FAIL, LLAMA
from inference_api_mock.spec import Spec, find_spec_file, load_spec
from inference_api_mock.testing import MockServer
from tests.server.conftest import bearer, version_of

DOCUMENT: dict[str, Any] = yaml.safe_load(find_spec_file().read_text())
TIMINGS = {
    "type": "object",
    "required": ["queued", "total"],
    "properties": {"queued": {"type": "number", "minimum": 0}, "total": {"type": ["number", "null"]}},
}
TOKEN = "shaped-token"


def edited(change: str) -> Spec:
    document = copy.deepcopy(DOCUMENT)
    prediction = document["components"]["schemas"]["Prediction"]
    if change == "required nullable timings":
        prediction["properties"]["timings"] = {"oneOf": [TIMINGS, {"type": "null"}]}
        prediction["required"].append("timings")
    elif change == "optional timings":
        prediction["properties"]["timings"] = TIMINGS
    elif change == "required timings":
        prediction["properties"]["timings"] = TIMINGS
        prediction["required"].append("timings")
    elif change == "logs removed":
        del prediction["properties"]["logs"]
        prediction["required"].remove("logs")
    elif change == "logs events removed":
        stream_event = document["components"]["schemas"]["StreamEvent"]
        stream_event["oneOf"] = [b for b in stream_event["oneOf"] if b["properties"]["event"]["const"] != "logs"]
    return Spec(document)


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[tuple[Spec, httpx.Client]]:
    spec = edited(request.param)
    with MockServer(tokens=(TOKEN,), speed=500.0, spec=spec) as server, connected(server) as client:
        yield spec, client


def connected(server: MockServer) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers=bearer(TOKEN), timeout=10.0)


def create(client: httpx.Client, ref: str, values: dict[str, Any]) -> dict[str, Any]:
    # Not conftest's create(): that one checks answers against the checkout's spec, not the edited one.
    response = client.post("/v1/predictions", json={"version": version_of(ref), "input": values})
    assert response.status_code == 201, response.text
    prediction: dict[str, Any] = response.json()["data"]
    return prediction


def wait_final(client: httpx.Client, prediction_id: str) -> dict[str, Any]:
    for _ in range(2000):
        prediction: dict[str, Any] = client.get(f"/v1/predictions/{prediction_id}").json()["data"]
        if prediction["status"] in ("succeeded", "failed", "canceled"):
            return prediction
        time.sleep(0.01)
    raise AssertionError(f"prediction {prediction_id} did not finish")


def predictions_in_every_state(client: httpx.Client) -> list[dict[str, Any]]:
    created = create(client, ECHO, {"x": 1})
    failed = create(client, FAIL, {})
    running = create(client, LLAMA, {"prompt": "a long story", "max_new_tokens": 500})
    canceled = client.post(f"/v1/predictions/{running['id']}/cancel").json()["data"]
    ran = client.post("/v1/run", json={"model": ECHO, "input": {"k": "v"}}).json()["data"]
    return [created, wait_final(client, created["id"]), wait_final(client, failed["id"]), canceled, ran]


def assert_valid(spec: Spec, prediction: dict[str, Any]) -> None:
    assert spec.check_component("Prediction", prediction) == [], prediction
    assert set(prediction) == set(spec.document["components"]["schemas"]["Prediction"]["properties"])


def test_the_checkouts_spec_is_what_the_server_sends() -> None:
    spec = load_spec()
    with MockServer(tokens=(TOKEN,), speed=500.0) as server, connected(server) as client:
        for prediction in predictions_in_every_state(client):
            assert_valid(spec, prediction)


@pytest.mark.parametrize("served", ["required nullable timings"], indirect=True)
def test_a_required_nullable_field_the_spec_gains_is_sent_as_null(served: tuple[Spec, httpx.Client]) -> None:
    spec, client = served
    for prediction in predictions_in_every_state(client):
        assert_valid(spec, prediction)
        assert prediction["timings"] is None


@pytest.mark.parametrize("served", ["optional timings", "required timings"], indirect=True)
def test_a_field_the_spec_gains_without_null_gets_a_schema_valid_default(served: tuple[Spec, httpx.Client]) -> None:
    spec, client = served
    for prediction in predictions_in_every_state(client):
        assert_valid(spec, prediction)
        assert prediction["timings"] == {"queued": 0, "total": None}


@pytest.mark.parametrize("served", ["logs removed"], indirect=True)
def test_a_field_the_spec_drops_is_no_longer_sent(served: tuple[Spec, httpx.Client]) -> None:
    spec, client = served
    for prediction in predictions_in_every_state(client):
        assert_valid(spec, prediction)
        assert "logs" not in prediction


def events_of(client: httpx.Client) -> list[tuple[str, str]]:
    body = {"model": LLAMA, "input": {"prompt": "hi", "max_new_tokens": 3}}
    with client.stream("POST", "/v1/run_sse", json=body) as response:
        blocks = response.read().decode().strip().split("\n\n")
    events = []
    for block in blocks:
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            events.append((fields["event"], fields.get("data", "")))
    return events


@pytest.mark.parametrize("served", ["logs events removed"], indirect=True)
def test_an_event_type_the_spec_drops_is_no_longer_sent(served: tuple[Spec, httpx.Client]) -> None:
    _, client = served
    kinds = [kind for kind, _ in events_of(client)]
    assert "logs" not in kinds and "output" in kinds and kinds[-1] == "done"


def test_event_data_is_shaped_by_its_schema() -> None:
    document = copy.deepcopy(DOCUMENT)
    done = document["components"]["schemas"]["StreamDoneData"]
    done["properties"]["finished_at"] = {"type": "string", "format": "date-time"}
    done["required"] = ["finished_at"]
    spec = Spec(document)
    with MockServer(tokens=(TOKEN,), speed=500.0, spec=spec) as server, connected(server) as client:
        kind, data = events_of(client)[-1]
    assert kind == "done"
    assert spec.check_component("StreamDoneData", json.loads(data)) == []
    assert set(json.loads(data)) == {"finished_at"}


def test_defaults_are_valid_for_every_schema_of_the_spec() -> None:
    spec = load_spec()
    for name, schema in DOCUMENT["components"]["schemas"].items():
        if "if" in json.dumps(schema):  # request bodies whose input depends on the model: not answers
            continue
        value = spec.default_value(schema)
        assert spec.check_component(name, value) == [], (name, value)
