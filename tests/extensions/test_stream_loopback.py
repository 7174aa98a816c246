"""Streaming against the real mock server over loopback, sync and async, with its fault plans.

The async client is what `connect()` gives by default (the aiohttp transport when installed).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest

from inference_api import errors
from inference_api.calls import async_get, cancel, create, get, run
from inference_api.connection import InferenceClient, connect
from inference_api.sse import ServerSentEvent
from inference_api.streaming import async_stream, async_stream_prediction, stream, stream_prediction
from inference_api_client.models.llama_chat_input import LlamaChatInput
from inference_api_client.models.prediction import Prediction
from inference_api_mock.models import FAIL, FAIL_MESSAGE, LLAMA, MISTRAL
from inference_api_mock.testing import MockServer

MODES = ("sync", "async")
STREAM_ROUTE = "GET /v1/predictions/{prediction_id}/stream"
PROMPT = {"prompt": "Plan a day of sightseeing in San Francisco", "max_new_tokens": 60}
LONG_PROMPT = {"prompt": "Tell me everything", "max_new_tokens": 2048, "min_new_tokens": 2048}


@pytest.fixture(scope="module")
def slow_server() -> Iterator[MockServer]:
    # Speed 5: a long chat stream (2048 pieces, the mock's cap) takes minutes, so it is surely
    # still arriving when a test looks at the connection.
    with MockServer(tokens=("test-token",), speed=5.0) as server:
        yield server


@pytest.fixture
def server(mock_server: MockServer) -> MockServer:
    """The session's mock server (speed 200, faults on), with no faults or requests left over."""
    return mock_server


class Sleeps(list[float]):
    """The reconnection delays asked for, recorded instead of slept (the mock's `retry` is 1 s)."""

    def sleep(self, seconds: float) -> None:
        self.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.append(seconds)


def client_for(server: MockServer, sleeps: Sleeps | None = None, **kwargs: Any) -> InferenceClient:
    if sleeps is not None:
        kwargs.update(sleep=sleeps.sleep, async_sleep=sleeps.async_sleep)
    return connect(server.token, server.base_url, **kwargs)


def collect(
    mode: str,
    client: InferenceClient,
    make: Callable[[InferenceClient], Any],
    *,
    stop_after: int | None = None,
    text_streams: list[Any] | None = None,
) -> list[str]:
    """The pieces of `make(client)` (a TextStream, or an AsyncTextStream read in a fresh event
    loop that closes the client's async connections at the end), stopping after `stop_after`."""
    pieces: list[str] = []
    text_stream = make(client)
    if text_streams is not None:
        text_streams.append(text_stream)

    def keep(piece: str) -> bool:
        pieces.append(piece)
        return stop_after is not None and len(pieces) >= stop_after

    if mode == "sync":
        with text_stream:
            for piece in text_stream:
                if keep(piece):
                    break
        return pieces

    async def read() -> None:
        try:
            async with text_stream:
                async for piece in text_stream:
                    if keep(piece):
                        break
        finally:
            await client.get_async_httpx_client().aclose()

    anyio.run(read)
    return pieces


def run_stream(mode: str, model: str, model_input: Any, **kwargs: Any) -> Callable[[InferenceClient], Any]:
    call = stream if mode == "sync" else async_stream
    return lambda client: call(client, model, model_input, **kwargs)


def follow(mode: str, prediction: Prediction, **kwargs: Any) -> Callable[[InferenceClient], Any]:
    call = stream_prediction if mode == "sync" else async_stream_prediction
    return lambda client: call(client, prediction, **kwargs)


def joined(output: Any) -> str:
    assert isinstance(output, list)
    return "".join(output)


def stream_requests(server: MockServer) -> list[Any]:
    return [request for request in server.requests if request.path.endswith("/stream")]


# --- run_sse ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_stream_gives_the_same_text_as_run(server: MockServer, mode: str) -> None:
    client = client_for(server)
    events: list[ServerSentEvent] = []
    streams: list[Any] = []
    pieces = collect(mode, client, run_stream(mode, LLAMA, PROMPT, on_event=events.append), text_streams=streams)
    expected = run(client, LLAMA, PROMPT).output
    assert pieces == expected
    assert streams[0].text == joined(expected)
    assert "\n" in streams[0].text and not streams[0].text.isascii()  # line breaks and non-ASCII survive
    assert streams[0].done
    assert streams[0].logs  # the mock logs booting and generating
    assert [event.event for event in events].count("output") == len(expected)
    assert events[-1].event == "done"


@pytest.mark.parametrize("mode", MODES)
def test_stream_takes_a_typed_input_model(server: MockServer, mode: str) -> None:
    model_input = LlamaChatInput(prompt="Hello", max_new_tokens=5)
    assert len(collect(mode, client_for(server), run_stream(mode, LLAMA, model_input))) == 5


@pytest.mark.parametrize("mode", MODES)
def test_an_error_event_raises_stream_error(server: MockServer, mode: str) -> None:
    with pytest.raises(errors.StreamError) as caught:
        collect(mode, client_for(server), run_stream(mode, FAIL, {"prompt": "x"}))
    assert caught.value.detail == FAIL_MESSAGE


def limited_client(server: MockServer, mode: str) -> InferenceClient:
    """A client with one connection: a response left open would block the next request."""
    timeout = httpx.Timeout(5.0, pool=0.5)
    limits = httpx.Limits(max_connections=1)
    client = client_for(server, timeout=timeout, retries=0, httpx_args={"limits": limits})
    if mode == "async" and client.fast_async:
        from httpx_aiohttp import AiohttpTransport

        transport = AiohttpTransport(limits=httpx.Limits(max_connections=1))
        auth = {"Authorization": f"Bearer {server.token}"}
        client.set_async_httpx_client(
            httpx.AsyncClient(base_url=server.base_url, headers=auth, timeout=timeout, transport=transport)
        )
    return client


def gets_a_connection(mode: str, client: InferenceClient) -> Callable[[Any], Any]:
    """Make a TextStream factory that, after reading, records whether another request gets through."""

    def outcome(error: Exception | None) -> bool:
        if isinstance(error, errors.APITimeoutError):
            return False  # it waited for the pool: the connection is still taken
        return isinstance(error, errors.NotFoundError)  # it reached the server

    if mode == "sync":

        def sync_check() -> bool:
            try:
                get(client, "no-such-prediction")
            except Exception as error:
                return outcome(error)
            return False

        return lambda _: sync_check()

    async def async_check() -> bool:
        try:
            await async_get(client, "no-such-prediction")
        except Exception as error:
            return outcome(error)
        return False

    return lambda _: async_check()


@pytest.mark.parametrize("mode", MODES)
def test_stopping_early_releases_the_connection(slow_server: MockServer, mode: str) -> None:
    client = limited_client(slow_server, mode)
    make = run_stream(mode, LLAMA, LONG_PROMPT)
    if mode == "sync":
        text_stream = make(client)
        with text_stream:
            assert next(text_stream)
        assert not text_stream.done
        assert gets_a_connection(mode, client)(None)
        return

    async def scenario() -> bool:
        try:
            async with make(client) as text_stream:
                assert await anext(text_stream)
            assert not text_stream.done
            result = await gets_a_connection(mode, client)(None)
            assert isinstance(result, bool)
            return result
        finally:
            await client.get_async_httpx_client().aclose()

    assert anyio.run(scenario)


@pytest.mark.parametrize("mode", MODES)
def test_the_connection_check_does_detect_a_response_left_open(slow_server: MockServer, mode: str) -> None:
    # The check above can fail: a response still open holds the only connection.
    client = limited_client(slow_server, mode)
    # The body must still be arriving: once it is all in, aiohttp frees the connection by itself.
    body = {"model": LLAMA, "input": LONG_PROMPT}
    if mode == "sync":
        http = client.get_httpx_client()
        response = http.send(http.build_request("POST", "/v1/run_sse", json=body), stream=True)
        try:
            assert not gets_a_connection(mode, client)(None)
        finally:
            response.close()
        assert gets_a_connection(mode, client)(None)
        return

    async def scenario() -> tuple[bool, bool]:
        http = client.get_async_httpx_client()
        try:
            response = await http.send(http.build_request("POST", "/v1/run_sse", json=body), stream=True)
            try:
                blocked = await gets_a_connection(mode, client)(None)
            finally:
                await response.aclose()
            return blocked, await gets_a_connection(mode, client)(None)
        finally:
            await http.aclose()

    assert anyio.run(scenario) == (False, True)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("fault", "error_class"),
    [
        ({"status": 503, "retry_after": "0"}, errors.ServerError),
        (
            {"status": 502, "body": "<html><h1>502 Bad Gateway</h1></html>", "content_type": "text/html"},
            errors.ServerError,
        ),
        ({"status": 520}, errors.ServerError),
        ({"status": 401}, errors.AuthenticationError),
    ],
)
def test_error_statuses_before_the_stream_are_typed_and_a_run_is_sent_once(
    server: MockServer, mode: str, fault: dict[str, Any], error_class: type[errors.APIStatusError]
) -> None:
    server.fault("POST /v1/run_sse", times=2, **fault)
    with pytest.raises(error_class) as caught:
        collect(mode, client_for(server), run_stream(mode, LLAMA, PROMPT))
    assert caught.value.status_code == fault["status"]
    assert len([request for request in server.requests if request.path == "/v1/run_sse"]) == 1


@pytest.mark.parametrize("mode", MODES)
def test_invalid_input_is_a_422(server: MockServer, mode: str) -> None:
    with pytest.raises(errors.UnprocessableEntityError):
        collect(mode, client_for(server), run_stream(mode, LLAMA, {"prompt": 42}))


@pytest.mark.parametrize("mode", MODES)
def test_a_wrong_token_is_a_401(server: MockServer, mode: str) -> None:
    client = connect("wrong-token", server.base_url)
    with pytest.raises(errors.AuthenticationError) as caught:
        collect(mode, client, run_stream(mode, LLAMA, PROMPT))
    assert "wrong-token" not in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_run_is_retried_after_429(server: MockServer, mode: str) -> None:
    server.fault("POST /v1/run_sse", status=429, retry_after="0")
    pieces = collect(mode, client_for(server), run_stream(mode, MISTRAL, {"prompt": "hi", "max_new_tokens": 4}))
    assert len(pieces) == 4
    assert len([request for request in server.requests if request.path == "/v1/run_sse"]) == 2


@pytest.mark.parametrize("mode", MODES)
def test_a_run_cut_mid_body_raises_with_the_text_so_far(server: MockServer, mode: str) -> None:
    server.fault("POST /v1/run_sse", close_mid_body=True, cut_after_events=8)
    with pytest.raises(errors.StreamError) as caught:
        collect(mode, client_for(server), run_stream(mode, LLAMA, PROMPT))
    assert caught.value.text  # the pieces received before the cut
    assert joined(run(client_for(server), LLAMA, PROMPT).output).startswith(caught.value.text)
    assert len([request for request in server.requests if request.path == "/v1/run_sse"]) == 1


# --- following a prediction's stream ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_following_gives_the_predictions_output(server: MockServer, mode: str) -> None:
    client = client_for(server)
    prediction = create(client, LLAMA, PROMPT, stream=True)
    streams: list[Any] = []
    pieces = collect(mode, client, follow(mode, prediction), text_streams=streams)
    assert pieces == get(client, prediction).output
    assert streams[0].done
    (request,) = stream_requests(server)
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["authorization"] == f"Bearer {server.token}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "faults",
    [
        [{"cut_after_events": 5, "times": 2}],
        [{"close_mid_body": True, "cut_after_events": 7}],
        [{"cut_after_events": 3}, {"close_mid_body": True, "cut_after_events": 4}, {"cut_after_events": 2}],
    ],
    ids=["clean-cuts", "dropped-connection", "mixed"],
)
def test_a_dropped_stream_resumes_without_losing_or_repeating_text(
    server: MockServer, mode: str, faults: list[dict[str, Any]]
) -> None:
    sleeps = Sleeps()
    client = client_for(server, sleeps)
    prediction = create(client, LLAMA, PROMPT, stream=True)
    for fault in faults:
        server.fault(STREAM_ROUTE, **fault)
    streams: list[Any] = []
    pieces = collect(mode, client, follow(mode, prediction), text_streams=streams)
    final = get(client, prediction)
    assert pieces == final.output  # each piece once, in order
    assert streams[0].text == joined(final.output)
    assert streams[0].done
    requests = stream_requests(server)
    reconnections = sum(fault.get("times", 1) for fault in faults)
    assert len(requests) == reconnections + 1
    assert "last-event-id" not in requests[0].headers
    resumed_after = [int(request.headers["last-event-id"]) for request in requests[1:]]
    assert resumed_after == sorted(resumed_after)
    assert resumed_after[0] > 0
    assert sleeps == [1.0] * reconnections  # the mock's `retry: 1000`


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_that_cannot_be_resumed_raises_with_all_the_text(server: MockServer, mode: str) -> None:
    client = client_for(server, Sleeps(), retries=0)
    prediction = create(client, LLAMA, PROMPT, stream=True)
    server.fault(STREAM_ROUTE, cut_after_events=6)
    server.fault(STREAM_ROUTE, status=404, times=10)  # then the stream is gone for good: not asked again
    streams: list[Any] = []
    with pytest.raises(errors.StreamError) as caught:
        collect(mode, client, follow(mode, prediction), text_streams=streams)
    assert caught.value.text == streams[0].text
    assert caught.value.text  # what came before the cut
    assert joined(get(client, prediction).output).startswith(caught.value.text)
    assert caught.value.status_code == 404
    assert len(stream_requests(server)) == 2


@pytest.mark.parametrize("mode", MODES)
def test_the_token_is_not_sent_to_a_stream_on_another_origin(server: MockServer, mode: str) -> None:
    client = client_for(server)
    prediction = create(client, LLAMA, PROMPT, stream=True)
    assert isinstance(prediction.urls.stream, str)
    # localhost and 127.0.0.1 are different origins, though the same server.
    prediction.urls.stream = prediction.urls.stream.replace("127.0.0.1", "localhost")
    with pytest.raises(errors.AuthenticationError):
        collect(mode, client, follow(mode, prediction))
    (request,) = stream_requests(server)
    assert "authorization" not in request.headers


@pytest.mark.parametrize("mode", MODES)
def test_a_prediction_canceled_while_streaming_raises_prediction_canceled(server: MockServer, mode: str) -> None:
    client = client_for(server)
    prediction = create(client, LLAMA, LONG_PROMPT, stream=True)
    canceled = threading.Event()

    def cancel_at_first_output(event: ServerSentEvent) -> None:
        if event.event == "output" and not canceled.is_set():
            canceled.set()
            threading.Thread(target=cancel, args=(client_for(server), prediction.id), daemon=True).start()

    streams: list[Any] = []
    with pytest.raises(errors.PredictionCanceledError):
        collect(mode, client, follow(mode, prediction, on_event=cancel_at_first_output), text_streams=streams)
    assert get(client, prediction).status == "canceled"
    assert streams[0].text  # what was streamed before the cancel is kept
    assert len(streams[0].text) < len(joined(get(client, prediction).output)) + 1
