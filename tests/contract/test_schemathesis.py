"""schemathesis against the mock server (in-process and over loopback) and any live deployment.

Three targets share one suite:

- `asgi`: the app in-process (`schemathesis.openapi.from_asgi`, the spec served at /openapi.yaml);
- `loopback`: the same app under uvicorn on a free 127.0.0.1 port (`from_url`);
- `live`: the deployment at INFERENCE_API_BASE_URL with INFERENCE_API_TOKEN (`from_path`), skipped
  with its reason when they are not set. It creates real predictions: it generates fewer cases and
  never sends a `webhook` (the service would contact whatever host schemathesis made up).

Each target runs every phase (examples, coverage, fuzzing) on every operation with every check on,
then the stateful phase, which follows the spec's links (createPrediction → getPrediction,
cancelPrediction, streamPrediction). Response codes are counted per target; the last test fails
unless the API answered with a 2xx, for creation as well as for the linked operations: a suite that
only ever saw 401/404/422 would prove nothing.

Positive cases must be accepted, and 422 is not among the statuses schemathesis expects for them.
The spec cannot say which model versions exist, nor that each model checks its own input, so for
the mock targets `prepare` makes every *positive* body semantically valid: an unknown version (or
`owner/name:version`) becomes a known model, and an input that fails that model's input schema
goes to the echo model. Negative cases are left alone. On the live target 422 counts as acceptance.
"""

from __future__ import annotations

import os
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis import Case, GenerationMode, Response
from schemathesis.specs.openapi.schemas import OpenApiSchema

from mock_server.app import create_app
from mock_server.models import MODELS, FakeModel, find_by_ref, find_by_version
from mock_server.spec import load_spec
from mock_server.testing import MockServer

ROOT = Path(__file__).resolve().parents[2]
AnyCase = Case[Any]
TOKEN = "contract-token"
LIVE_URL = os.environ.get("INFERENCE_API_BASE_URL", "")
LIVE_TOKEN = os.environ.get("INFERENCE_API_TOKEN", "")
TARGETS = ["asgi", "loopback", "live"]
# Cases per operation and phase; the stateful phase runs STATEFUL_SCENARIOS sequences of calls.
MAX_EXAMPLES = {"asgi": 60, "loopback": 40, "live": 5}
STATEFUL_SCENARIOS = {"asgi": 60, "loopback": 40, "live": 5}
LINKED = ("GET /v1/predictions/{prediction_id}", "POST /v1/predictions/{prediction_id}/cancel")

# Response codes seen, per target: {(operation label, status): count}; and calls of the stateful phase.
SEEN: dict[str, Counter[tuple[str, int]]] = {target: Counter() for target in TARGETS}
STATEFUL_CALLS: Counter[str] = Counter()
# With fixed seeds each mock target makes this many calls at least (1,000+ together, see the report).
MIN_CALLS = {"asgi": 600, "loopback": 500, "live": 1}


def config_for(target: str, token: str) -> schemathesis.Config:
    checks: dict[str, Any] = {"enabled": True}
    if target == "live":
        # The hosted service checks versions and model inputs the spec cannot describe.
        checks["positive_data_acceptance"] = {
            "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
        }
    return schemathesis.Config.from_dict(
        {
            "auth": {"openapi": {"bearerAuth": {"bearer": token}}},
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES[target], "deterministic": True},
            "checks": checks,
            "phases": {"stateful": {"max-steps": 6}},
            "request-timeout": 30,
        }
    )


# Models that take any input: where a positive input does not suit the model it named.
ANY_INPUT = [model for model in MODELS if model.input_schema is None]


def _pick(seed: object, models: list[FakeModel]) -> FakeModel:
    return models[zlib.crc32(repr(seed).encode()) % len(models)]


def _usable_model(model: FakeModel | None, seed: str, values: object) -> FakeModel:
    if model is None:
        model = _pick(seed, list(MODELS))
    if model.input_schema and load_spec().check_component(model.input_schema, values):
        model = _pick(values, ANY_INPUT)
    return model


def make_positive_body_meaningful(case: AnyCase) -> None:
    """A positive body names a model this server has, with an input that model takes."""
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE or not isinstance(case.body, dict):
        return
    body = case.body
    version, ref = body.get("version"), body.get("model")
    if isinstance(version, str):
        body["version"] = _usable_model(find_by_version(version), version, body.get("input")).version
    if isinstance(ref, str):
        body["model"] = _usable_model(find_by_ref(ref)[0], ref, body.get("input")).ref


def never_send_webhooks(case: AnyCase) -> None:
    if isinstance(case.body, dict):
        case.body.pop("webhook", None)
        case.body.pop("webhook_events_filter", None)


def prepare(target: str, case: AnyCase) -> None:
    """Adjust a case before it is sent (schemathesis revalidates what it then sends)."""
    if target == "live":
        never_send_webhooks(case)
    else:
        make_positive_body_meaningful(case)


@pytest.fixture(scope="module")
def mock_on_loopback() -> Iterator[MockServer]:
    with MockServer(tokens=(TOKEN,), speed=2000.0) as server:
        yield server


@pytest.fixture(scope="module")
def live_base_url() -> str:
    if not (LIVE_URL and LIVE_TOKEN):
        pytest.skip("INFERENCE_API_BASE_URL and INFERENCE_API_TOKEN are not set: no live deployment to test")
    return LIVE_URL.rstrip("/")


# Module-level schemas: `schemathesis.pytest.from_fixture` (4.32.5) reads `request.node._nodeid`,
# which pytest 9.2 no longer has. The base URL of the loopback and live targets is passed per call
# instead, from a fixture, so no server needs to run while tests are collected.
asgi_schema = schemathesis.openapi.from_asgi(
    "/openapi.yaml", create_app([TOKEN], speed=2000.0), config=config_for("asgi", TOKEN)
)
loopback_schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml", config=config_for("loopback", TOKEN))
live_schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml", config=config_for("live", LIVE_TOKEN))
SETTINGS = hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))


def record(target: str, case: AnyCase, response: Response) -> None:
    SEEN[target][(case.operation.label, response.status_code)] += 1


@asgi_schema.parametrize()
@SETTINGS
def test_in_process(case: AnyCase) -> None:
    prepare("asgi", case)
    record("asgi", case, case.call_and_validate())


@loopback_schema.parametrize()
@SETTINGS
def test_over_loopback(case: AnyCase, mock_on_loopback: MockServer) -> None:
    prepare("loopback", case)
    record("loopback", case, case.call_and_validate(base_url=mock_on_loopback.base_url))


@pytest.mark.live
@live_schema.parametrize()
@SETTINGS
def test_live(case: AnyCase, live_base_url: str) -> None:
    prepare("live", case)
    record("live", case, case.call_and_validate(base_url=live_base_url))


def run_stateful(schema: OpenApiSchema, target: str, base_url: str | None) -> None:
    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: AnyCase) -> None:
            super().before_call(case)
            prepare(target, case)

        def get_call_kwargs(self, case: AnyCase) -> dict[str, Any]:
            return {"base_url": base_url} if base_url else {}

        def after_call(self, response: Response, case: AnyCase) -> None:
            super().after_call(response, case)
            record(target, case, response)
            STATEFUL_CALLS[target] += 1

    Machine.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_SCENARIOS[target],
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )


def test_stateful_in_process() -> None:
    run_stateful(asgi_schema, "asgi", None)


def test_stateful_over_loopback(mock_on_loopback: MockServer) -> None:
    run_stateful(loopback_schema, "loopback", mock_on_loopback.base_url)


@pytest.mark.live
def test_stateful_live(live_base_url: str) -> None:
    run_stateful(live_schema, "live", live_base_url)


@pytest.mark.parametrize("target", TARGETS)
def test_responses_included_successes(target: str) -> None:
    seen = SEEN[target]
    if not seen:
        pytest.skip(f"the schemathesis tests of the {target} target did not run in this session")
    successes = {label for (label, status), _ in seen.items() if 200 <= status < 300}
    summary = ", ".join(f"{label} {status}: {count}" for (label, status), count in sorted(seen.items()))
    assert "POST /v1/predictions" in successes, summary
    assert set(LINKED) <= successes, summary
    assert sum(seen.values()) >= MIN_CALLS[target], summary
    assert STATEFUL_CALLS[target] > 0, "the stateful phase made no call"
    print(f"\n{target}: {sum(seen.values())} calls, {STATEFUL_CALLS[target]} of them stateful; {summary}")
