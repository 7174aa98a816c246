"""openapi.yaml is a valid OpenAPI 3.2 document that describes the guide's API and says where each
element comes from: the guide (`x-guide`) or an assumption listed in docs/design.md (`x-assumed`)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, OpenAPIV32SpecValidator

from inference_api._fields import NEEDED
from inference_api_mock.models import find_by_ref, find_by_version
from tests.guide import GUIDE, guide_payloads
from tests.spec.regenerate_script import regenerate_module

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
DESIGN = (ROOT / "docs" / "design.md").read_text()

OPERATIONS = {
    "createPrediction": ("post", "/v1/predictions"),
    "getPrediction": ("get", "/v1/predictions/{prediction_id}"),
    "cancelPrediction": ("post", "/v1/predictions/{prediction_id}/cancel"),
    "streamPrediction": ("get", "/v1/predictions/{prediction_id}/stream"),
    "runModel": ("post", "/v1/run"),
    "runModelSse": ("post", "/v1/run_sse"),
}
GUIDE_MODELS = {
    "ali-vilab/i2vgen-xl:5821a338d00033abaaba89080a17eb8783d9a17ed710a6b4246a18e0900ccad4": "ImageToVideoInput",
    "mistralai/mistral-7b-instruct-v0.1:5fe0a3d7ac2852264a25279d1dfb798acbc4d49711d126646594e212cb821749": (
        "MistralInstructInput"
    ),
    "meta/llama-2-7b-chat:f1d50bb24186c52daae319ca8366e53debdaa9e0ae7ff976e918df752732ccc4": "LlamaChatInput",
}


def operation(operation_id: str) -> dict[str, Any]:
    method, path = OPERATIONS[operation_id]
    result: dict[str, Any] = SPEC["paths"][path][method]
    return result


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def validator(name: str) -> Draft202012Validator:
    # Resolve component $refs against the whole document, as the mock server does.
    schema = {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


# Valid to the letter.


def test_the_validator_passes_on_the_document_as_it_is() -> None:
    command = [str(Path(sys.executable).parent / "openapi-spec-validator"), str(ROOT / "openapi.yaml")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip().endswith("OK"), result.stdout + result.stderr
    assert list(OpenAPIV32SpecValidator(SPEC).iter_errors()) == []


def test_the_document_is_openapi_3_2_because_event_streams_use_item_schema() -> None:
    assert SPEC["openapi"] == "3.2.0"
    for operation_id in ("streamPrediction", "runModelSse"):
        content = operation(operation_id)["responses"]["200"]["content"]
        assert content == {"text/event-stream": {"itemSchema": {"$ref": "#/components/schemas/StreamEvent"}}}


def test_the_generator_reads_a_derived_openapi_3_1_view_that_moves_only_what_3_1_lacks(tmp_path: Path) -> None:
    regenerate = regenerate_module()
    view = regenerate.openapi_3_1_view(SPEC)
    assert view["openapi"].startswith("3.1.")
    assert list(OpenAPIV31SpecValidator(view).iter_errors()) == []
    # Put back what was moved: the original document again, nothing else changed. The item schema
    # is the generator's `schema`, marked for the templates as the schema of one event.
    for operation_id in ("streamPrediction", "runModelSse"):
        method, path = OPERATIONS[operation_id]
        content = view["paths"][path][method]["responses"]["200"]["content"]
        media = content["text/event-stream"]
        assert media == {"schema": {"$ref": "#/components/schemas/StreamEvent"}, "x-item-schema": True}
        content["text/event-stream"] = {"itemSchema": media["schema"]}
    assert view | {"openapi": SPEC["openapi"]} == SPEC
    # Deterministic: the same bytes every time.
    regenerate.write_view(ROOT / "openapi.yaml", tmp_path / "a.yaml")
    regenerate.write_view(ROOT / "openapi.yaml", tmp_path / "b.yaml")
    assert (tmp_path / "a.yaml").read_bytes() == (tmp_path / "b.yaml").read_bytes()


def test_the_hosted_server_is_the_guides() -> None:
    assert SPEC["servers"][0]["url"] == "https://fqpedg8vi2.ap-northeast-1.awsapprunner.com"
    assert SPEC["servers"][0]["url"] in GUIDE


def test_every_operation_has_an_id_tag_description_and_bearer_security() -> None:
    found = {
        op["operationId"]: (method, path)
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete", "query"}
    }
    assert found == OPERATIONS
    assert SPEC["security"] == [{"bearerAuth": []}]
    scheme = SPEC["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for operation_id in OPERATIONS:
        op = operation(operation_id)
        assert op["tags"] and op["description"].strip(), operation_id
        assert "security" not in op, f"{operation_id} must not override the bearer security"


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_every_error_response_is_documented(operation_id: str) -> None:
    responses = operation(operation_id)["responses"]
    success = {"createPrediction": "201"}.get(operation_id, "200")
    assert success in responses
    expected = {"401", "404", "422", "429", "5XX"}
    assert expected <= set(responses)
    if "requestBody" in operation(operation_id):
        # A version or model the service does not have: 404, like an unknown id (A13).
        assert responses["404"] == {"$ref": "#/components/responses/UnknownModel"}
        assert {"413", "415"} <= set(responses)
    else:
        assert responses["404"] == {"$ref": "#/components/responses/NotFound"}
    too_many = SPEC["components"]["responses"]["TooManyRequests"]
    assert responses["429"] == {"$ref": "#/components/responses/TooManyRequests"}
    assert "Retry-After" in too_many["headers"]


def test_every_response_documents_the_request_id_header() -> None:
    for operation_id in OPERATIONS:
        for status, response in operation(operation_id)["responses"].items():
            headers = resolve(response)["headers"]
            assert headers["X-Request-Id"] == {"$ref": "#/components/headers/RequestId"}, (operation_id, status)


def test_links_from_create_to_get_cancel_and_stream() -> None:
    links = operation("createPrediction")["responses"]["201"]["links"]
    targets = {link["operationId"]: link["parameters"] for link in links.values()}
    for operation_id in ("getPrediction", "cancelPrediction", "streamPrediction"):
        assert targets[operation_id] == {"prediction_id": "$response.body#/data/id"}


# Types that help.


def test_every_prediction_field_is_always_sent_and_nullable_where_it_can_be_empty() -> None:
    prediction = SPEC["components"]["schemas"]["Prediction"]
    # Every field is always sent (A5). A field the spec gains needs no edit here: the mock server
    # sends it and the SDK reads it (tests/spec/test_regeneration_carries_through.py).
    assert set(prediction["required"]) == set(prediction["properties"])
    assert set(NEEDED) <= set(prediction["properties"]), "fields the SDK reads (inference_api._fields)"
    properties = prediction["properties"]
    for name in ("model", "error", "logs", "started_at", "completed_at"):
        assert properties[name]["type"][1] == "null", name
    assert {"type": "null"} in properties["metrics"]["oneOf"]
    assert "type" not in properties["output"], "output is any JSON value"
    schemas = SPEC["components"]["schemas"]
    assert set(schemas["PredictionUrls"]["properties"]) == {"get", "cancel", "stream"}
    assert schemas["PredictionStatus"]["enum"] == ["starting", "processing", "succeeded", "failed", "canceled"]
    assert schemas["PredictionResponse"]["additionalProperties"] is True


# As strict as the server: the guide's models hold their input to its schema.


def tied_models(request: str, key: str) -> dict[str, str]:
    """{version or model ref: input schema} of a request schema's if/then conditions."""
    ties = {}
    for condition in SPEC["components"]["schemas"][request]["allOf"]:
        value = condition["if"]["properties"][key]["const"]
        assert condition["if"]["required"] == [key]
        ties[value] = condition["then"]["properties"]["input"]["$ref"].rsplit("/", 1)[1]
    return ties


def test_the_request_bodies_tie_the_guides_models_to_their_input_schemas() -> None:
    assert tied_models("RunRequest", "model") == GUIDE_MODELS
    assert tied_models("CreatePredictionRequest", "version") == {
        ref.split(":")[1]: schema for ref, schema in GUIDE_MODELS.items()
    }


def test_the_mock_server_has_every_model_the_spec_ties() -> None:
    for ref in tied_models("RunRequest", "model"):
        assert find_by_ref(ref)[0] is not None, ref
    for version in tied_models("CreatePredictionRequest", "version"):
        assert find_by_version(version) is not None, version


def test_guide_payloads_are_the_request_examples() -> None:
    create, run, run_sse = guide_payloads()
    examples = [
        next(iter(operation(op)["requestBody"]["content"]["application/json"]["examples"].values()))["value"]
        for op in ("createPrediction", "runModel", "runModelSse")
    ]
    assert examples == [create, run, run_sse]


def test_guide_payloads_validate_and_their_inputs_are_held_to_their_models() -> None:
    create, run, run_sse = guide_payloads()
    validator("CreatePredictionRequest").validate(create)
    validator("RunRequest").validate(run)
    validator("RunRequest").validate(run_sse)
    validator("ImageToVideoInput").validate(create["input"])
    validator("MistralInstructInput").validate(run["input"])
    validator("LlamaChatInput").validate(run_sse["input"])
    # The request bodies themselves check the model's input...
    assert not validator("RunRequest").is_valid(run | {"input": run["input"] | {"temperature": 50}})
    assert not validator("CreatePredictionRequest").is_valid(create | {"input": {"prompt": "no image"}})
    assert not validator("RunRequest").is_valid(run_sse | {"input": run["input"]}), "prompt_template is Mistral's"
    assert not validator("RunRequest").is_valid(run | {"model": "mistralai/mistral-7b-instruct-v0.1"})
    # ...and leave the input of any other model open (its answer is 404 when the service lacks it).
    assert validator("CreatePredictionRequest").is_valid({"version": "0" * 64, "input": {"anything": [1]}})
    assert validator("RunRequest").is_valid({"model": "someone/else:" + "0" * 64, "input": {}})


# Honest about assumptions.


def annotated_elements() -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, element) of everything that must say where it comes from."""
    yield "servers[0]", SPEC["servers"][0]
    yield "bearerAuth", SPEC["components"]["securitySchemes"]["bearerAuth"]
    for operation_id in OPERATIONS:
        op = operation(operation_id)
        yield operation_id, op
        for status, response in op["responses"].items():
            yield f"{operation_id} {status}", resolve(response)
        for parameter in op.get("parameters", []):
            yield f"{operation_id} parameter {parameter['name']}", resolve(parameter)
    for name, parameter in SPEC["components"]["parameters"].items():
        yield f"parameter {name}", parameter
    for name, header in SPEC["components"]["headers"].items():
        yield f"header {name}", header
    for name, schema in SPEC["components"]["schemas"].items():
        yield f"schema {name}", schema
        if "x-guide" in schema:
            # Partly stated by the guide: each field says which part it is.
            for field, subschema in schema.get("properties", {}).items():
                if "$ref" not in subschema and field not in guide_fields(schema):
                    yield f"schema {name}.{field}", subschema


def guide_fields(schema: dict[str, Any]) -> set[str]:
    """Fields the schema's own `x-guide` names (`version`, or the values the guide sends)."""
    return {field for field in schema.get("properties", {}) if re.search(rf"\b{field}\b", schema["x-guide"])}


ASSUMPTION = re.compile(r"^(A\d+)(?:, (A\d+))*: \S")


def test_every_element_says_whether_the_guide_states_it_or_which_assumption_it_is() -> None:
    missing = [where for where, element in annotated_elements() if not {"x-guide", "x-assumed"} & set(element)]
    assert missing == [], "add x-guide (where the guide says so) or x-assumed (an A-entry of docs/design.md)"


def assumption_ids_in_spec() -> set[str]:
    ids = set()
    for node in walk(SPEC):
        note = node.get("x-assumed")
        if note is not None:
            assert ASSUMPTION.match(note), f"x-assumed must start with its docs/design.md ids: {note!r}"
            ids.update(re.findall(r"A\d+", note.split(":", 1)[0]))
    return ids


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_every_assumption_is_listed_in_the_design_document_and_every_listed_one_is_used() -> None:
    in_design = set(re.findall(r"^\| (A\d+) \|", DESIGN, flags=re.M))
    used = assumption_ids_in_spec()
    assert used - in_design == set(), "x-assumed ids missing from docs/design.md"
    assert in_design - used == set(), "docs/design.md lists assumptions the spec does not mark"


def test_no_file_refers_to_a_document_that_is_not_in_the_repository() -> None:
    sources = [ROOT / "README.md", ROOT / "openapi.yaml", *(ROOT / "docs").glob("*.md")]
    for folder in ("tests", "extensions", "mock_server", "benchmarks", "templates"):
        sources += (ROOT / folder).rglob("*.py")
        sources += (ROOT / folder).rglob("*.md")
    documents = {path.relative_to(ROOT).as_posix() for path in ROOT.rglob("*.md") if ".venv" not in path.parts}
    for source in sources:
        for name in re.findall(r"[\w./-]*\b[\w-]+\.md\b", source.read_text(encoding="utf-8")):
            if name.startswith(("http", "//")):
                continue
            # A path from the root, a link relative to the file (docs/ links up with `..`), or a
            # file name used in a path join (`ROOT / "docs" / "api-guide.md"`).
            relative = (source.parent / name).resolve()
            if relative.is_relative_to(ROOT) and relative.relative_to(ROOT).as_posix() in documents:
                continue
            assert any(document == name or document.endswith("/" + name) for document in documents), f"{source}: {name}"
