"""The generated client against hostile servers: every operation, sync and async, strict or not.

Two clients run the same checks: ours (inference_api_client) and the client of a second, unrelated
API (`Parcel Tracker`, below) generated here with our templates and config, so that what the
templates do is keyed on what a spec says, not on our operations. Each answer is one the network
really gives: statuses outside http.HTTPStatus (Cloudflare's 520, nginx's 499), an HTML 502, an
empty 500, a truncated or mistyped 200, a stream that delivers one event and then stalls.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import httpx
import pytest
import yaml

from tests.hostile.leaks import leaked
from tests.hostile.rawserver import Connection, Handler, RawServer

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-GENERATED-3f9c1e7a"  # distinctive, so that a leak shows up in any text it reaches
PREDICTION = {
    "id": "ujebapbbulzpx25442efjv4qba",
    "model": "meta/llama-2-7b-chat",
    "version": "f1d50bb24186c52daae319ca8366e53debdaa9e0ae7ff976e918df752732ccc4",
    "status": "succeeded",
    "input": {"prompt": "x"},
    "output": ["Howdy"],
    "error": None,
    "logs": "",
    "created_at": "2026-11-26T07:00:00.250000+00:00",
    "urls": {"get": "http://x/v1/predictions/u", "cancel": "http://x/v1/predictions/u/cancel"},
}
RUN_BODY = {"model": "meta/llama-2-7b-chat:" + "f1d50bb2" * 8, "input": {"prompt": "x"}}

# A second API that shares nothing with ours but the kinds of things a spec says.
PARCEL_SPEC = """
openapi: 3.2.0
info: {title: Parcel Tracker, version: 0.1.0}
security: [{bearer: []}]
paths:
  /parcels/{parcel_code}:
    get:
      operationId: getParcel
      parameters: [{name: parcel_code, in: path, required: true, schema: {type: string}}]
      responses:
        '200': {description: The parcel., content: {application/json: {schema: {$ref: '#/components/schemas/Parcel'}}}}
        '404': {$ref: '#/components/responses/Problem'}
        5XX: {$ref: '#/components/responses/Problem'}
  /parcels/{parcel_code}/updates:
    get:
      operationId: followParcel
      parameters: [{name: parcel_code, in: path, required: true, schema: {type: string}}]
      responses:
        '200':
          description: The parcel's moves as they happen.
          content: {text/event-stream: {itemSchema: {$ref: '#/components/schemas/ParcelUpdate'}}}
        '404': {$ref: '#/components/responses/Problem'}
        5XX: {$ref: '#/components/responses/Problem'}
components:
  securitySchemes: {bearer: {type: http, scheme: bearer}}
  responses:
    Problem:
      description: A problem.
      content: {application/problem+json: {schema: {$ref: '#/components/schemas/Problem'}}}
  schemas:
    Parcel:
      type: object
      required: [code, where]
      properties: {code: {type: string}, where: {type: string}}
    Problem:
      type: object
      required: [title]
      properties: {title: {type: string}}
    ParcelUpdate:
      type: object
      required: [event, data]
      properties: {event: {type: string}, data: {type: string}, id: {type: string}}
"""


@attrs.frozen
class Operation:
    module: ModuleType
    arguments: Callable[[str], dict[str, Any]]  # keyword arguments, given the value of its path parameter
    success_status: int
    success_body: bytes  # a documented success body (for a stream: one event)
    success_type: str  # its media type

    @property
    def name(self) -> str:
        return self.module.__name__.rpartition(".")[2]

    @property
    def is_stream(self) -> bool:
        return hasattr(self.module, "sync_stream")

    @property
    def path_parameters(self) -> list[str]:
        signature = inspect.signature(self.module.sync_detailed)
        return [p.name for p in signature.parameters.values() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]


@attrs.frozen
class Target:
    package: ModuleType
    operations: tuple[Operation, ...]
    error_body: bytes  # a documented error body (5XX)
    error_type: str
    error_model: type
    first_event: bytes  # an event of a stream
    first_event_model: type

    def errors(self) -> Any:
        return importlib.import_module(f"{self.package.__name__}.errors")

    def client(self, base_url: str, strict: bool) -> Any:
        return self.package.AuthenticatedClient(
            base_url=base_url, token=TOKEN, raise_on_unexpected_status=strict, timeout=httpx.Timeout(10.0)
        )


def operation_modules(package: ModuleType) -> set[str]:
    api = importlib.import_module(f"{package.__name__}.api")
    return {
        info.name.rpartition(".")[2]
        for info in pkgutil.walk_packages(api.__path__, f"{api.__name__}.")
        if not info.ispkg
    }


def our_target() -> Target:
    from inference_api_client.api.models import run_model, run_model_sse
    from inference_api_client.api.predictions import (
        cancel_prediction,
        create_prediction,
        get_prediction,
        stream_prediction,
    )
    from inference_api_client.models import CreatePredictionRequest, ErrorResponse, RunRequest, StreamOutputEvent

    envelope = json.dumps({"data": PREDICTION}).encode()
    event = b"id: 1\nevent: output\ndata: Howdy\n\n"

    def create(_: str) -> dict[str, Any]:
        return {"body": CreatePredictionRequest.from_dict({"version": "f1d50bb2" * 8, "input": {}})}

    def run(_: str) -> dict[str, Any]:
        return {"body": RunRequest.from_dict(RUN_BODY)}

    def by_id(value: str) -> dict[str, Any]:
        return {"prediction_id": value}

    json_type, stream_type = "application/json", "text/event-stream"
    import inference_api_client

    return Target(
        package=inference_api_client,
        operations=(
            Operation(create_prediction, create, 201, envelope, json_type),
            Operation(get_prediction, by_id, 200, envelope, json_type),
            Operation(cancel_prediction, by_id, 200, envelope, json_type),
            Operation(run_model, run, 200, envelope, json_type),
            Operation(run_model_sse, run, 200, event, stream_type),
            Operation(stream_prediction, by_id, 200, event, stream_type),
        ),
        error_body=b'{"detail": "origin unreachable"}',
        error_type="application/json",
        error_model=ErrorResponse,
        first_event=event,
        first_event_model=StreamOutputEvent,
    )


@pytest.fixture(scope="module")
def parcel_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The Parcel Tracker's client, generated with our templates by scripts/regenerate."""
    root = tmp_path_factory.mktemp("parcel")
    (root / "parcel.yaml").write_text(PARCEL_SPEC)
    config = yaml.safe_load((ROOT / "openapi-python-client.yaml").read_text())
    config.pop("class_overrides")  # they name our models
    config.update(project_name_override="parcel-tracker", package_name_override="parcel_client")
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    command = [sys.executable, str(ROOT / "scripts" / "regenerate"), "--spec", str(root / "parcel.yaml")]
    command += ["--target", str(root / "parcel_client"), "--config", str(root / "config.yaml")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(root))
    try:
        package = importlib.import_module("parcel_client")
        get_parcel = importlib.import_module("parcel_client.api.default.get_parcel")
        follow_parcel = importlib.import_module("parcel_client.api.default.follow_parcel")
        models = importlib.import_module("parcel_client.models")

        def by_code(value: str) -> dict[str, Any]:
            return {"parcel_code": value}

        yield Target(
            package=package,
            operations=(
                Operation(get_parcel, by_code, 200, b'{"code": "P1", "where": "Lyon"}', "application/json"),
                Operation(follow_parcel, by_code, 200, b"event: moved\ndata: Lyon\n\n", "text/event-stream"),
            ),
            error_body=b'{"title": "origin unreachable"}',
            error_type="application/problem+json",
            error_model=models.Problem,
            first_event=b"event: moved\ndata: Lyon\n\n",
            first_event_model=models.ParcelUpdate,
        )
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == "parcel_client" or name.startswith("parcel_client.")]:
            del sys.modules[name]


@pytest.fixture(params=["inference_api_client", "parcel_client"])
def target(request: pytest.FixtureRequest) -> Target:
    if request.param == "inference_api_client":
        return our_target()
    parcel: Target = request.getfixturevalue("parcel_target")
    return parcel


def test_the_second_client_is_generated_from_its_own_spec_and_imports_nothing_of_ours(parcel_target: Target) -> None:
    assert parcel_target.package.__name__ == "parcel_client"
    assert operation_modules(parcel_target.package) == {"get_parcel", "follow_parcel"}
    sources = Path(parcel_target.package.__file__ or "").parent.rglob("*.py")
    for source in sources:
        text = source.read_text()
        assert "inference_api" not in text, f"{source.name} names our package"


def test_each_target_lists_every_generated_operation(target: Target) -> None:
    assert {operation.name for operation in target.operations} == operation_modules(target.package)


# Answers.


def answer(status: int, reason: str, content_type: str | None, body: bytes, *headers: str) -> Handler:
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", "Connection: close", *headers]
    if content_type is not None:
        head.append(f"Content-Type: {content_type}")

    def handler(connection: Connection) -> None:
        connection.request()
        connection.send(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    return handler


# A page larger than an error's excerpt, with the token (as a server might echo it) across the cut.
HTML_PAGE = b"<html><body>" + b"x" * 1000 + f"Bearer {TOKEN}".encode() + b"</body></html>" * 300


@attrs.frozen
class Scenario:
    name: str
    handler: Callable[[Target, Operation], Handler]
    error: str | None  # the errors class raised when strict (None: the answer parses)
    status: Callable[[Operation], int]


SCENARIOS = [
    Scenario(
        "status_520_html",
        lambda t, o: answer(520, "Origin Error", "text/html", HTML_PAGE, f"X-Echo: Bearer {TOKEN}"),
        "UnexpectedContent",  # 5XX is documented: its body is not
        lambda o: 520,
    ),
    Scenario(
        "status_520_error_body",
        lambda t, o: answer(520, "Origin Error", t.error_type, t.error_body),
        None,
        lambda o: 520,
    ),
    Scenario(
        "status_499_empty",
        lambda t, o: answer(499, "Client Closed Request", None, b""),
        "UnexpectedStatus",
        lambda o: 499,
    ),
    Scenario(
        "html_502",
        lambda t, o: answer(502, "Bad Gateway", "text/html", HTML_PAGE, f"X-Echo: Bearer {TOKEN}"),
        "UnexpectedContent",
        lambda o: 502,
    ),
    Scenario(
        "empty_500", lambda t, o: answer(500, "Internal Server Error", None, b""), "UnexpectedContent", lambda o: 500
    ),
    Scenario(
        "truncated_success",
        lambda t, o: answer(o.success_status, "OK", o.success_type, o.success_body[: len(o.success_body) // 2]),
        "UnexpectedContent",
        lambda o: o.success_status,
    ),
    Scenario(
        "success_of_another_type",
        lambda t, o: answer(o.success_status, "OK", "text/plain", o.success_body),
        "UnexpectedContent",
        lambda o: o.success_status,
    ),
]

FUNCTIONS = ("sync_detailed", "sync", "asyncio_detailed", "asyncio")


def call(operation: Operation, function: str, client: Any, value: str) -> Any:
    """One generated function, on a client of its own (closed after)."""
    kwargs = operation.arguments(value)
    if function.startswith("sync"):
        with client:
            return getattr(operation.module, function)(client=client, **kwargs)

    async def run() -> Any:
        async with client:
            return await getattr(operation.module, function)(client=client, **kwargs)

    return asyncio.run(run())


def read_stream(operation: Operation, function: str, client: Any, value: str) -> list[Any]:
    kwargs = operation.arguments(value)
    if function == "sync_stream":
        with client, operation.module.sync_stream(client=client, **kwargs) as events:
            return list(events)

    async def run() -> list[Any]:
        async with client, operation.module.asyncio_stream(client=client, **kwargs) as events:
            return [event async for event in events]

    return asyncio.run(run())


def first_event(operation: Operation, function: str, client: Any, closed: threading.Event) -> tuple[Any, bool]:
    """The stream's first event, and whether leaving the stream (the client still open) closed the connection."""
    kwargs = operation.arguments("p1")
    if function == "sync_stream":
        with client:
            with operation.module.sync_stream(client=client, **kwargs) as events:
                first = next(events)
            return first, closed.wait(10)

    async def run() -> tuple[Any, bool]:
        async with client:
            async with operation.module.asyncio_stream(client=client, **kwargs) as events:
                first = await anext(events)
            return first, await asyncio.to_thread(closed.wait, 10)

    return asyncio.run(run())


def check_error(error: BaseException, status: int) -> None:
    """What an error of the generated package shows: its status, a bounded excerpt, never the token."""
    shown = f"{error}\n{error!r}\n{getattr(error, 'content', b'')!r}\n{getattr(error, 'headers', {})!r}"
    assert leaked(shown, TOKEN) is None, shown  # nor any 8 characters of it, in any case or encoding
    assert error.status_code == status  # type: ignore[attr-defined]
    assert len(error.content) <= 1024  # type: ignore[attr-defined]
    assert error.__cause__ is None and error.__context__ is None, "no chain keeps the body"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_every_function_of_every_operation_handles_the_answer(target: Target, scenario: Scenario) -> None:
    errors = target.errors()
    for operation in target.operations:
        status = scenario.status(operation)
        if scenario.name == "truncated_success" and operation.is_stream:
            check_a_stream_cut_short(target, operation, scenario)
            continue
        with RawServer(scenario.handler(target, operation)) as server:
            for function in FUNCTIONS:
                where = f"{operation.name}.{function} ({scenario.name})"
                # Not strict: never an error; the raw answer stays on the detailed response.
                result = call(operation, function, target.client(server.base_url, strict=False), "p1")
                parsed = result.parsed if function.endswith("detailed") else result
                if function.endswith("detailed"):
                    assert result.status_code == status, where
                    assert isinstance(result.content, bytes) and "content-length" in result.headers, where
                if scenario.error is None:
                    assert isinstance(parsed, target.error_model), where
                else:
                    assert parsed is None, where
                # Strict: the package's own error, or the parsed answer.
                client = target.client(server.base_url, strict=True)
                if scenario.error is None:
                    result = call(operation, function, client, "p1")
                    parsed = result.parsed if function.endswith("detailed") else result
                    assert isinstance(parsed, target.error_model), where
                    continue
                with pytest.raises(errors.UnexpectedStatus) as caught:
                    call(operation, function, client, "p1")
                assert type(caught.value) is getattr(errors, scenario.error), where
                check_error(caught.value, status)
            if operation.is_stream:
                for function in ("sync_stream", "asyncio_stream"):
                    for strict in (False, True):
                        # A stream function has nowhere to put an answer that is not the stream.
                        expected = scenario.error or "NotAnEventStream"
                        with pytest.raises(errors.UnexpectedStatus) as caught:
                            read_stream(operation, function, target.client(server.base_url, strict), "p1")
                        assert type(caught.value) is getattr(errors, expected), f"{operation.name}.{function}"
                        check_error(caught.value, status)
                        if expected == "NotAnEventStream":
                            assert isinstance(caught.value.parsed, target.error_model)
            assert not server.errors


def check_a_stream_cut_short(target: Target, operation: Operation, scenario: Scenario) -> None:
    """A stream cut inside its first event: no event (the spec discards an unfinished one), no error."""
    with RawServer(scenario.handler(target, operation)) as server:
        for strict in (False, True):
            for function in FUNCTIONS:
                result = call(operation, function, target.client(server.base_url, strict), "p1")
                assert (result.parsed if function.endswith("detailed") else result) is None
            for function in ("sync_stream", "asyncio_stream"):
                assert read_stream(operation, function, target.client(server.base_url, strict), "p1") == []
        assert not server.errors


def test_a_documented_error_still_parses_and_its_status_is_an_int_beyond_http_status(target: Target) -> None:
    operation = target.operations[0]
    with RawServer(answer(520, "Origin Error", target.error_type, target.error_body)) as server:
        response = call(operation, "sync_detailed", target.client(server.base_url, strict=True), "p1")
    assert response.status_code == 520 and type(response.status_code) is int
    assert isinstance(response.parsed, target.error_model)


# Path parameters.

ESCAPING_VALUES = ["", ".", "..", "a/b", "../x", "/"]


@pytest.mark.parametrize("value", ESCAPING_VALUES)
def test_a_path_parameter_that_would_leave_its_segment_is_refused_before_any_request(
    target: Target, value: str
) -> None:
    with RawServer(answer(404, "Not Found", target.error_type, target.error_body)) as server:
        for operation in target.operations:
            if not operation.path_parameters:
                continue
            (name,) = operation.path_parameters
            functions = FUNCTIONS + (("sync_stream", "asyncio_stream") if operation.is_stream else ())
            for function in functions:
                client = target.client(server.base_url, strict=False)
                with pytest.raises(ValueError, match=f"path parameter '{name}' must be one path segment"):
                    if function.endswith("stream"):
                        read_stream(operation, function, client, value)
                    else:
                        call(operation, function, client, value)
        assert server.connections == 0, "nothing was sent"


def test_other_path_parameters_are_percent_encoded_into_their_segment(target: Target) -> None:
    with RawServer(answer(404, "Not Found", target.error_type, target.error_body)) as server:
        for operation in target.operations:
            if operation.path_parameters:
                call(operation, "sync_detailed", target.client(server.base_url, strict=False), "a b?c#d%2e\\")
        paths = [request.path for request in server.requests]
    assert paths and all("/a%20b%3Fc%23d%252e%5C" in path for path in paths), paths


# Streams.


def stalling_stream(first_event: bytes, closed_by_client: threading.Event) -> Handler:
    """Sends the stream's head and its first event, then nothing, until the client hangs up."""

    def handler(connection: Connection) -> None:
        connection.request()
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        connection.send(head + b"%x\r\n%s\r\n" % (len(first_event), first_event))
        while connection.sock.recv(4096):
            pass
        if not connection.server.stopping.is_set():
            closed_by_client.set()

    return handler


@pytest.mark.parametrize("function", ["sync_stream", "asyncio_stream"])
def test_the_first_event_arrives_while_the_stream_stalls_and_leaving_closes_the_connection(
    target: Target, function: str
) -> None:
    closed_by_client = threading.Event()
    for operation in target.operations:
        if not operation.is_stream:
            continue
        closed_by_client.clear()
        with RawServer(stalling_stream(target.first_event, closed_by_client)) as server:
            client = target.client(server.base_url, strict=False)
            first, closed = first_event(operation, function, client, closed_by_client)
            assert isinstance(first, target.first_event_model), first
            assert closed, f"leaving {operation.name}.{function} left the connection open"
            assert not server.errors


def full_stream(body: bytes) -> Handler:
    def handler(connection: Connection) -> None:
        connection.request()
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nConnection: close\r\n\r\n"
        connection.send(head + body)

    return handler


def test_each_event_is_its_itemschema_model_and_an_undocumented_one_comes_as_decoded() -> None:
    from inference_api_client.api.models import run_model_sse
    from inference_api_client.models import RunRequest, StreamDoneEvent, StreamLogsEvent, StreamOutputEvent
    from inference_api_client.sse import ServerSentEvent

    body = b"id: 1\nevent: output\ndata: a\ndata: b\n\nevent: logs\ndata: step\n\n: keep-alive\n\n"
    body += b"event: ping\ndata: x\n\nid: 9\nevent: done\ndata: {}\n\n"
    with RawServer(full_stream(body)) as server:
        client = our_target().client(server.base_url, strict=False)
        with client, run_model_sse.sync_stream(client=client, body=RunRequest.from_dict(RUN_BODY)) as events:
            received = list(events)
    assert received == [
        StreamOutputEvent(event="output", data="a\nb", id="1"),
        StreamLogsEvent(event="logs", data="step", id="1"),
        ServerSentEvent("ping", "x", "1"),
        StreamDoneEvent(event="done", data="{}", id="9"),
    ]


@pytest.mark.parametrize("function", ["sync_stream", "asyncio_stream"])
def test_a_line_longer_than_the_bound_stops_the_stream(function: str) -> None:
    from inference_api_client.api.predictions import stream_prediction
    from inference_api_client.sse import EventTooLarge

    with RawServer(full_stream(b"data: " + b"x" * 5000)) as server:
        client = our_target().client(server.base_url, strict=False)
        with pytest.raises(EventTooLarge):
            if function == "sync_stream":
                with client, stream_prediction.sync_stream("p1", client=client, max_event_size=1000) as events:
                    list(events)
            else:

                async def run() -> None:
                    async with (
                        client,
                        stream_prediction.asyncio_stream("p1", client=client, max_event_size=1000) as events,
                    ):
                        [event async for event in events]

                asyncio.run(run())
