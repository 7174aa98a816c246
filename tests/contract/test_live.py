"""The live contract test: schemathesis against a real deployment, only when asked for with --live.

    INFERENCE_API_LIVE_BASE_URL=https://... INFERENCE_API_LIVE_TOKEN=... pytest tests/contract --live

It creates real predictions on that account (docs/development.md, "Live tests"), so it is careful about what
it sends:

- only positive cases (requests the spec calls valid): a few generated ones per operation and a
  few stateful sequences (create, then get, cancel or stream that prediction), about 40 requests
  of which about 20 create or run a prediction, most naming a version that does not exist (404);
- never a `webhook` (the service would call whatever host schemathesis made up): the document it
  reads has no webhook fields, and `additionalProperties: false` keeps them out;
- cheap inputs: the guide's models get small token and frame counts (a narrower, still valid
  range than the spec's);
- no check that sends requests of its own that the API must refuse (no token, other methods).

The same tests run against the mock server on every run (target `mock`), and there every answer
must be 2xx or 404 (an unknown model version, or an id generated at random): the mock server
validates each request against openapi.yaml, so this proves the live run sends nothing invalid.
What the live run should confirm is in docs/design.md ("What a live check should confirm").
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import hypothesis
import pytest
import schemathesis
import yaml
from schemathesis import Case, Response

from inference_api_mock.testing import MockServer
from tests.conftest import LIVE_BASE_URL_ENV, LIVE_TOKEN_ENV

ROOT = Path(__file__).resolve().parents[2]
AnyCase = Case[Any]
MOCK_TOKEN = "live-rehearsal-token"
# Inclusive maxima that keep a live prediction small: {schema: {field: maximum}}.
CHEAP_INPUTS = {
    "LlamaChatInput": {"max_new_tokens": 16, "min_new_tokens": 16},
    "MistralInstructInput": {"max_new_tokens": 16, "min_new_tokens": 16},
    "ImageToVideoInput": {"max_frames": 4, "num_inference_steps": 5},
}
WEBHOOK_FIELDS = ("webhook", "webhook_events_filter")
# Checks that send extra requests the API must refuse (no token, undeclared methods, missing headers).
CHECKS_THAT_SEND_INVALID_REQUESTS = ("ignored_auth", "unsupported_method", "missing_required_header")


def live_document() -> dict[str, Any]:
    """openapi.yaml without webhook fields, with cheap input ranges: every request it allows is valid."""
    document: dict[str, Any] = copy.deepcopy(yaml.safe_load((ROOT / "openapi.yaml").read_text()))
    schemas = document["components"]["schemas"]
    for field in WEBHOOK_FIELDS:
        del schemas["CreatePredictionRequest"]["properties"][field]
    for schema, maxima in CHEAP_INPUTS.items():
        for field, maximum in maxima.items():
            schemas[schema]["properties"][field]["maximum"] = maximum
    return document


CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"mode": "positive", "max-examples": 3, "deterministic": True},
        "phases": {"coverage": {"enabled": False}, "stateful": {"max-steps": 4}},
        "checks": {"enabled": True} | {name: {"enabled": False} for name in CHECKS_THAT_SEND_INVALID_REQUESTS},
        "request-timeout": 120,
    }
)
live_schema = schemathesis.openapi.from_dict(live_document(), config=CONFIG)
SETTINGS = hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))


@attrs.frozen
class Target:
    name: str
    base_url: str
    token: str

    def call_kwargs(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "headers": {"Authorization": f"Bearer {self.token}"}}

    def check(self, case: AnyCase, response: Response) -> None:
        if self.name == "mock":
            # The mock server validates against openapi.yaml: anything else would be an invalid request.
            assert response.status_code < 300 or response.status_code == 404, (
                f"the live run would send an invalid request: {case.method} {case.formatted_path} "
                f"{case.body!r} -> {response.status_code} {response.text[:500]}"
            )


@pytest.fixture(scope="module", params=["mock", pytest.param("live", marks=pytest.mark.live)])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "mock":
        with MockServer(tokens=(MOCK_TOKEN,), speed=1000.0, record_requests=False) as server:
            yield Target("mock", server.base_url, MOCK_TOKEN)
        return
    base_url, token = os.environ.get(LIVE_BASE_URL_ENV, ""), os.environ.get(LIVE_TOKEN_ENV, "")
    if not (base_url and token):
        pytest.fail(f"--live needs {LIVE_BASE_URL_ENV} and {LIVE_TOKEN_ENV} (docs/development.md, Live tests)")
    yield Target("live", base_url.rstrip("/"), token)


@live_schema.parametrize()
@SETTINGS
def test_each_operation(case: AnyCase, target: Target) -> None:
    response = case.call(**target.call_kwargs())
    target.check(case, response)
    case.validate_response(response)


def test_stateful(target: Target) -> None:
    calls: list[int] = []

    class Machine(live_schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: AnyCase) -> dict[str, Any]:
            return target.call_kwargs()

        def after_call(self, response: Response, case: AnyCase) -> None:
            super().after_call(response, case)
            target.check(case, response)
            calls.append(response.status_code)

    Machine.run(
        settings=hypothesis.settings(
            max_examples=5,
            stateful_step_count=4,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    assert any(200 <= status < 300 for status in calls), f"no call of the stateful phase succeeded: {calls}"


def test_the_live_document_is_the_spec_narrowed() -> None:
    document = live_document()
    spec: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    create = document["components"]["schemas"]["CreatePredictionRequest"]
    assert create["additionalProperties"] is False and not set(WEBHOOK_FIELDS) & set(create["properties"])
    for schema, maxima in CHEAP_INPUTS.items():
        for field, maximum in maxima.items():
            original = spec["components"]["schemas"][schema]["properties"][field]
            assert original.get("minimum", -(10**9)) <= maximum <= original.get("maximum", 10**9)
    assert document["paths"] == spec["paths"], "the live run tests every operation of the spec"
