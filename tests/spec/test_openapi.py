"""openapi.yaml is a valid OpenAPI document that describes the guide's API."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator, OpenAPIV32SpecValidator

from tests.guide import GUIDE, guide_payloads

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())

OPERATIONS = {
    "createPrediction": ("post", "/v1/predictions"),
    "getPrediction": ("get", "/v1/predictions/{prediction_id}"),
    "cancelPrediction": ("post", "/v1/predictions/{prediction_id}/cancel"),
    "streamPrediction": ("get", "/v1/predictions/{prediction_id}/stream"),
    "runModel": ("post", "/v1/run"),
    "runModelSse": ("post", "/v1/run_sse"),
}


def operation(operation_id: str) -> dict[str, Any]:
    method, path = OPERATIONS[operation_id]
    result: dict[str, Any] = SPEC["paths"][path][method]
    return result


def test_valid_openapi_3_1_apart_from_item_schema() -> None:
    # The one OpenAPI 3.2 keyword we use is `itemSchema`, for event streams (schemathesis reads it).
    errors = [str(error) for error in OpenAPIV31SpecValidator(SPEC).iter_errors()]
    assert errors, "the validator should flag itemSchema, or this test no longer checks anything"
    assert all("'itemSchema' was unexpected" in error for error in errors), errors


def test_valid_openapi_3_2() -> None:
    as_3_2 = copy.deepcopy(SPEC) | {"openapi": "3.2.0"}
    assert list(OpenAPIV32SpecValidator(as_3_2).iter_errors()) == []


def test_document_is_openapi_3_1_with_the_hosted_server() -> None:
    assert SPEC["openapi"].startswith("3.1.")
    assert SPEC["servers"][0]["url"] == "https://fqpedg8vi2.ap-northeast-1.awsapprunner.com"
    assert SPEC["servers"][0]["url"] in GUIDE


def test_every_operation_has_an_id_tag_description_and_bearer_security() -> None:
    found = {
        op["operationId"]: (method, path)
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert found == OPERATIONS
    assert SPEC["security"] == [{"bearerAuth": []}]
    assert SPEC["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": SPEC["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    for operation_id in OPERATIONS:
        op = operation(operation_id)
        assert op["tags"] and op["description"].strip(), operation_id
        assert "security" not in op, f"{operation_id} must not override the bearer security"


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_every_error_response_is_documented(operation_id: str) -> None:
    responses = operation(operation_id)["responses"]
    success = {"createPrediction": "201"}.get(operation_id, "200")
    assert success in responses
    expected = {"401", "422", "429", "5XX"}
    if "{prediction_id}" in OPERATIONS[operation_id][1]:
        expected.add("404")
    assert expected <= set(responses)
    too_many = SPEC["components"]["responses"]["TooManyRequests"]
    assert responses["429"] == {"$ref": "#/components/responses/TooManyRequests"}
    assert "Retry-After" in too_many["headers"]


def test_stream_url_operation_says_clients_follow_urls_stream() -> None:
    op = operation("streamPrediction")
    assert "urls.stream" in op["description"]
    for operation_id in ("streamPrediction", "runModelSse"):
        content = operation(operation_id)["responses"]["200"]["content"]
        assert content == {"text/event-stream": {"itemSchema": {"$ref": "#/components/schemas/StreamEvent"}}}


def test_links_from_create_to_get_and_cancel() -> None:
    links = operation("createPrediction")["responses"]["201"]["links"]
    targets = {link["operationId"]: link["parameters"] for link in links.values()}
    assert targets["getPrediction"] == {"prediction_id": "$response.body#/data/id"}
    assert targets["cancelPrediction"] == {"prediction_id": "$response.body#/data/id"}


def test_prediction_has_every_field_of_the_design() -> None:
    prediction = SPEC["components"]["schemas"]["Prediction"]["properties"]
    assert set(prediction) == {
        "id", "model", "version", "status", "input", "output", "error", "logs",
        "created_at", "started_at", "completed_at", "urls", "metrics",
    }  # fmt: skip
    schemas = SPEC["components"]["schemas"]
    assert set(schemas["PredictionUrls"]["properties"]) == {"get", "cancel", "stream"}
    assert set(schemas["PredictionMetrics"]["properties"]) == {"predict_time"}
    assert schemas["PredictionStatus"]["enum"] == ["starting", "processing", "succeeded", "failed", "canceled"]
    assert schemas["PredictionResponse"]["additionalProperties"] is True


def test_guide_payloads_are_the_request_examples() -> None:
    create, run, run_sse = guide_payloads()
    examples = [
        next(iter(operation(op)["requestBody"]["content"]["application/json"]["examples"].values()))["value"]
        for op in ("createPrediction", "runModel", "runModelSse")
    ]
    assert examples == [create, run, run_sse]


def test_guide_payloads_validate_against_the_request_and_model_input_schemas() -> None:
    from jsonschema import Draft202012Validator

    def validator(name: str) -> Draft202012Validator:
        # Resolve component $refs against the whole document.
        schema = {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]}
        return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    create, run, run_sse = guide_payloads()
    validator("CreatePredictionRequest").validate(create)
    validator("RunRequest").validate(run)
    validator("RunRequest").validate(run_sse)
    validator("ImageToVideoInput").validate(create["input"])
    validator("MistralInstructInput").validate(run["input"])
    validator("LlamaChatInput").validate(run_sse["input"])
    # And the typed inputs really check: out-of-range values are rejected.
    assert not validator("MistralInstructInput").is_valid(run["input"] | {"temperature": 50})
    assert not validator("ImageToVideoInput").is_valid(create["input"] | {"max_frames": "16"})
    assert not validator("RunRequest").is_valid(run | {"model": "mistralai/mistral-7b-instruct-v0.1"})
