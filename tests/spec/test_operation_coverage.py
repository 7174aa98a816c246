"""Every operation of openapi.yaml has an SDK call, a mock server route and a CLI command.

COVERAGE names them for each operation; EXCLUDED lists an operation that must not have one of
them, with the reason. When the spec gains an operation, the first test fails until it is in one
of the two. The others drive each SDK call and CLI command against the mock server and check, in
the server's request log, that they really send that operation.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml
from starlette.routing import Route

from inference_api import calls, streaming, waiting
from inference_api.cli import build_parser, main
from inference_api.connection import InferenceClient, connect
from inference_api_mock.app import create_app
from inference_api_mock.models import ECHO, LLAMA
from inference_api_mock.testing import MockServer

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())


@attrs.frozen
class Coverage:
    sdk: Callable[..., Any]  # the SDK call that sends the operation
    drive: Callable[[InferenceClient], object]  # calls it against the mock server
    cli: list[str]  # the CLI command that sends it ("{id}" is a fresh prediction's id)


def _created(client: InferenceClient, stream: bool = False) -> str:
    if stream:  # still running when `wait` starts, so that it follows the stream
        values = {"prompt": "hi", "max_new_tokens": 2000, "min_new_tokens": 2000}  # 0.5 s at speed 200
        return calls.create(client, LLAMA, values, stream=True).id
    return calls.create(client, ECHO, {"x": 1}).id


COVERAGE: dict[str, Coverage] = {
    "createPrediction": Coverage(calls.create, lambda client: calls.create(client, ECHO, {}), ["create", ECHO]),
    "getPrediction": Coverage(calls.get, lambda client: calls.get(client, _created(client)), ["get", "{id}"]),
    "cancelPrediction": Coverage(
        calls.cancel, lambda client: calls.cancel(client, _created(client)), ["cancel", "{id}"]
    ),
    # `wait` follows `urls.stream` when the prediction has one (created with --stream).
    "streamPrediction": Coverage(
        streaming.stream_prediction,
        lambda client: waiting.wait(client, calls.create(client, ECHO, {}, stream=True), timeout=30),
        ["wait", "{stream_id}"],
    ),
    "runModel": Coverage(calls.run, lambda client: calls.run(client, ECHO, {}), ["run", ECHO]),
    "runModelSse": Coverage(
        streaming.stream,
        lambda client: list(streaming.stream(client, LLAMA, {"prompt": "hi"})),
        ["stream", LLAMA, "-i", "prompt=hi"],
    ),
}
# operationId -> why it has no SDK call, mock route or CLI command.
EXCLUDED: dict[str, str] = {}


def spec_operations() -> dict[str, tuple[str, str]]:
    return {
        op["operationId"]: (method.upper(), path)
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


def test_every_operation_is_covered_or_excluded_with_a_reason() -> None:
    missing = sorted(set(spec_operations()) - set(COVERAGE) - set(EXCLUDED))
    assert not missing, (
        f"openapi.yaml's operations {missing} have no SDK call, mock route and CLI command: add them and list "
        "them in COVERAGE (tests/spec/test_operation_coverage.py), or in EXCLUDED with the reason"
    )
    assert not set(COVERAGE) - set(spec_operations()), "COVERAGE lists operations the spec no longer has"
    assert all(reason.strip() for reason in EXCLUDED.values())


@pytest.mark.parametrize("operation_id", sorted(COVERAGE))
def test_the_mock_server_has_a_route_for_it(operation_id: str) -> None:
    method, path = spec_operations()[operation_id]
    routes = [route for route in create_app(["t"]).routes if isinstance(route, Route)]
    assert any(route.path == path and method in (route.methods or ()) for route in routes), (method, path)


def sent(server: MockServer, operation_id: str) -> bool:
    method, path = spec_operations()[operation_id]
    pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
    return any(request.method == method and pattern.match(request.path) for request in server.requests)


@pytest.mark.parametrize("operation_id", sorted(COVERAGE))
def test_its_sdk_call_sends_it(operation_id: str, mock_server: MockServer) -> None:
    coverage = COVERAGE[operation_id]
    assert coverage.sdk.__module__.startswith("inference_api.")
    with connect(mock_server.token, mock_server.base_url) as client:
        coverage.drive(client)
    assert sent(mock_server, operation_id), f"{coverage.sdk.__qualname__} did not send {operation_id}"


@pytest.mark.parametrize("operation_id", sorted(COVERAGE))
def test_its_cli_command_sends_it(operation_id: str, mock_server: MockServer) -> None:
    command = COVERAGE[operation_id].cli
    subcommands = [action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)]
    assert command[0] in subcommands[0]._name_parser_map
    with connect(mock_server.token, mock_server.base_url) as client:
        ids = {"{id}": _created(client), "{stream_id}": _created(client, stream=True)}
    mock_server.clear_requests()
    argv = ["--token", mock_server.token, "--base-url", mock_server.base_url, *(ids.get(a, a) for a in command)]
    assert main(argv) == 0
    assert sent(mock_server, operation_id), f"`inference-api {' '.join(command)}` did not send {operation_id}"
