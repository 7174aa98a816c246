"""When openapi.yaml gains a request field, the SDK and the CLI send it with no hand edit.

`create`, `run` and `stream` (and their async twins) take every field of the generated request
models as keyword arguments, and the CLI has an option for each (extensions/_requests.py). The
first tests below are parametrized from the spec itself: a field the spec gains gets its own test
case, which fails naming the field if it does not reach the wire. The last one does what a
maintainer does: add an optional `priority` to CreatePredictionRequest, run scripts/regenerate,
and call `create(..., priority=5)` and `inference-api create ... --priority 5`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml

from inference_api import async_create, async_run, async_stream, connect, create, run, stream
from inference_api._requests import request_fields
from inference_api.cli import main
from inference_api_client.models import CreatePredictionRequest, RunRequest
from tests.extensions.calls_support import prediction_json
from tests.recording_server import RecordingServer

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
SCHEMAS = SPEC["components"]["schemas"]
LLAMA = "meta/llama-2-7b-chat:f1d50bb24186c52daae319ca8366e53debdaa9e0ae7ff976e918df752732ccc4"
VERSION = LLAMA.split(":")[1]
MODELS: dict[str, type] = {"CreatePredictionRequest": CreatePredictionRequest, "RunRequest": RunRequest}
DONE_EVENT = b"id: 1\nevent: done\ndata: {}\n\n"


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def sample(schema: dict[str, Any]) -> Any:
    """A valid value of a field's schema that differs from its default, so that it is sent."""
    schema = resolve(schema)
    if "enum" in schema:
        return schema["enum"][-1]
    kind = schema.get("type")
    kind = next(k for k in kind if k != "null") if isinstance(kind, list) else kind
    if kind == "boolean":
        return not schema.get("default", False)
    if kind in ("integer", "number"):
        return int(schema.get("minimum", 0)) + 5
    if kind == "array":
        return [sample(schema.get("items", {}))]
    if kind == "object":
        return {"k": "v"}
    return "https://example.com/hook" if schema.get("format") == "uri" else "text"


def optional_fields() -> list[tuple[str, str]]:
    return [
        (name, field)
        for name in MODELS
        for field in SCHEMAS[name]["properties"]
        if field not in SCHEMAS[name].get("required", [])
    ]


def python_name(model_name: str, field: str) -> str:
    names = {entry.json_name: entry.name for entry in request_fields(MODELS[model_name])}
    assert field in names, f"{model_name} has no field {field!r}: run scripts/regenerate"
    return names[field]


def cli_arguments(field: str, value: Any) -> list[str]:
    option = "--" + field.replace("_", "-")
    if value is True:
        return [option]
    values = value if isinstance(value, list) else [value]
    return [part for item in values for part in (option, item if isinstance(item, str) else json.dumps(item))]


def sent_bodies(server: RecordingServer) -> list[Any]:
    return [json.loads(request.body) for request in server.requests]


def test_every_optional_request_field_is_checked() -> None:
    assert ("CreatePredictionRequest", "webhook") in optional_fields()


@pytest.mark.parametrize(("model_name", "field"), optional_fields())
def test_every_optional_request_field_reaches_the_sdk_and_the_cli(model_name: str, field: str) -> None:
    value = sample(SCHEMAS[model_name]["properties"][field])
    keyword = {python_name(model_name, field): value}
    creating = model_name == "CreatePredictionRequest"
    answer: dict[str, Any] = (
        {"status": 201, "body": {"data": prediction_json()}}
        if creating
        else {"status": 200, "content": DONE_EVENT, "content_type": "text/event-stream"}
    )
    with RecordingServer(**answer) as server, connect("test-token", server.base_url, retries=0) as client:
        calls: list[tuple[str, Callable[[], object]]]
        if creating:
            calls = [
                ("create", lambda: create(client, VERSION, {"prompt": "hi"}, **keyword)),
                ("async_create", lambda: anyio.run(lambda: async_create(client, VERSION, {"prompt": "hi"}, **keyword))),
            ]
            commands = [["create", VERSION, "-i", "prompt=hi"]]
        else:
            calls = [("stream", lambda: list(stream(client, LLAMA, {"prompt": "hi"}, **keyword)))]
            commands = [["stream", LLAMA, "-i", "prompt=hi"]]
        for _, call in calls:
            call()
        for command in commands:
            options = cli_arguments(field, value)
            assert main(["--token", "test-token", "--base-url", server.base_url, *command, *options]) == 0
        callers = [name for name, _ in calls] + [f"inference-api {command[0]}" for command in commands]
        for caller, body in zip(callers, sent_bodies(server), strict=True):
            assert body.get(field) == value, (
                f"request field {field!r} of {model_name} did not reach the body that {caller} sent: "
                "see extensions/_requests.py (derived from the generated request models)"
            )


def test_run_and_async_run_take_request_fields_too() -> None:
    # RunRequest has no optional field today: what a new one goes through is the same path as
    # stream's (calls.run_body), and an unknown keyword is refused by name.
    succeeded = {"data": prediction_json(status="succeeded", output=["hi"])}
    with RecordingServer(200, succeeded) as server, connect("test-token", server.base_url, retries=0) as client:
        assert run(client, LLAMA, {"prompt": "hi"}).output == ["hi"]
        assert anyio.run(lambda: async_run(client, LLAMA, {"prompt": "hi"})).output == ["hi"]
        with pytest.raises(TypeError, match="run\\(\\) got an unexpected keyword argument 'priority'"):
            run(client, LLAMA, {"prompt": "hi"}, priority=5)
        with pytest.raises(TypeError, match="async_stream\\(\\) got an unexpected keyword argument 'priority'"):
            async_stream(client, LLAMA, {"prompt": "hi"}, priority=5)
        assert sent_bodies(server) == [{"model": LLAMA, "input": {"prompt": "hi"}}] * 2
    with pytest.raises(TypeError, match="create\\(\\) got an unexpected keyword argument 'priorty'"):
        create(client, VERSION, {"prompt": "hi"}, priorty=5)
    with pytest.raises(TypeError, match="create\\(\\) got an unexpected keyword argument 'input_'"):
        create(client, VERSION, {"prompt": "hi"}, input_={})


ADD_PRIORITY = """
        priority:
          type: integer
          minimum: 0
          description: Higher runs sooner.
"""


def test_a_new_request_field_reaches_create_and_the_cli_after_regenerating(tmp_path: Path) -> None:
    spec = (ROOT / "openapi.yaml").read_text()
    anchor = "\n        stream:\n          type: boolean\n"
    assert spec.count(anchor) == 1
    (tmp_path / "openapi.yaml").write_text(spec.replace(anchor, ADD_PRIORITY.rstrip("\n") + anchor))
    package = tmp_path / "site" / "inference_api_client"
    shutil.copytree(
        ROOT / "generated_client" / "inference_api_client", package, ignore=shutil.ignore_patterns("__pycache__")
    )

    regenerated = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "regenerate"), "--spec", str(tmp_path / "openapi.yaml"),
         "--target", str(package)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert regenerated.returncode == 0, regenerated.stdout + regenerated.stderr
    assert "+ model CreatePredictionRequest: priority added (int | Unset, optional)" in regenerated.stdout

    # The regenerated package first on the path; inference_api and tests/ from this checkout, unchanged.
    script = f"""
import json, inference_api_client
from inference_api import connect, create
from inference_api.cli import main
from tests.extensions.calls_support import prediction_json
from tests.recording_server import RecordingServer
assert inference_api_client.__file__.startswith({str(package)!r}), inference_api_client.__file__
with RecordingServer(201, {{"data": prediction_json()}}) as server:
    with connect("test-token", server.base_url, retries=0) as client:
        create(client, {VERSION!r}, {{"prompt": "hi"}}, priority=5)
    command = ["create", {VERSION!r}, "-i", "prompt=hi", "--priority", "5"]
    main(["--token", "test-token", "--base-url", server.base_url, *command])
    print("BODIES", json.dumps([json.loads(request.body) for request in server.requests]))
"""
    environment = os.environ | {"PYTHONPATH": os.pathsep.join([str(package.parent), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-P", "-c", script], env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    bodies = json.loads(result.stdout.split("BODIES ", 1)[1])
    assert [body.get("priority") for body in bodies] == [5, 5], bodies
