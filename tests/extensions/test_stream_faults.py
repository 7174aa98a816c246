"""Streaming drivers against scripted in-process responses: fault cases a real server rarely gives.

The same behaviour is checked over loopback against the mock server in test_stream_loopback.py.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest

from inference_api import errors
from inference_api._streaming import ResumePolicy
from inference_api.connection import InferenceClient
from inference_api.sse import ServerSentEvent
from inference_api.streaming import (
    AsyncTextStream,
    TextStream,
    async_stream,
    async_stream_prediction,
    stream,
    stream_prediction,
)
from inference_api_client.models.prediction import Prediction
from tests.extensions.calls_support import BASE_URL, TOKEN, Sleeps, mock_client, prediction_json

LLAMA = "meta/llama-2-7b-chat:f1d50bb24186c52daae319ca8366e53debdaa9e0ae7ff976e918df752732ccc4"
MODES = ("sync", "async")
EVENT_STREAM = {"content-type": "text/event-stream"}


def block(event: str, data: str, event_id: int | None = None, retry: int | None = None) -> bytes:
    lines = [f"retry: {retry}"] if retry is not None else []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


def script(*pieces: str, first_id: int = 1, done: bool = True) -> list[bytes]:
    chunks = [block("output", piece, first_id + index) for index, piece in enumerate(pieces)]
    if done:
        chunks.append(block("done", "{}", first_id + len(pieces)))
    return chunks


class ScriptedBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body sent chunk by chunk, optionally failing after them; records its closing."""

    def __init__(self, chunks: list[bytes], fail_with: Exception | None = None) -> None:
        self.chunks = chunks
        self.fail_with = fail_with
        self.sent = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.sent += 1
            yield chunk
        if self.fail_with is not None:
            raise self.fail_with

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.sent += 1
            yield chunk
        if self.fail_with is not None:
            raise self.fail_with

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


class Server:
    """Answers each request with the next scripted response and records the requests."""

    def __init__(self, *responses: Callable[[httpx.Request], httpx.Response]) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []
        self.bodies: list[ScriptedBody] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.responses:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        return self.responses.pop(0)(request)

    def events(self, chunks: list[bytes], fail_with: Exception | None = None) -> Callable[..., httpx.Response]:
        body = ScriptedBody(chunks, fail_with)
        self.bodies.append(body)
        return lambda request: httpx.Response(200, headers=EVENT_STREAM, stream=body)

    def corrupt_gzip_events(self, chunks: list[bytes]) -> Callable[..., httpx.Response]:
        """A gzip-encoded event stream whose compressed data breaks after `chunks`."""
        compressor = zlib.compressobj(wbits=31)  # the gzip format
        good = compressor.compress(b"".join(chunks)) + compressor.flush(zlib.Z_SYNC_FLUSH)
        body = ScriptedBody([good, b"\xff" * 16])  # not a deflate block: zlib's "invalid block type"
        self.bodies.append(body)
        headers = {**EVENT_STREAM, "content-encoding": "gzip"}
        return lambda request: httpx.Response(200, headers=headers, stream=body)


def status(code: int, body: Any = None, headers: dict[str, str] | None = None) -> Callable[..., httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(code, text=body, headers={"content-type": "text/html", **(headers or {})})
        return httpx.Response(code, json={"detail": body or "nope"}, headers=headers)

    return respond


def connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def drain(mode: str, make: Callable[[], Any], *, stop_after: int | None = None) -> tuple[list[str], Any]:
    """Iterate a TextStream (sync) or AsyncTextStream (async) for its pieces; return them and the stream."""
    pieces: list[str] = []
    text_stream = make()
    if mode == "sync":
        with text_stream:
            for piece in text_stream:
                pieces.append(piece)
                if stop_after is not None and len(pieces) >= stop_after:
                    break
        return pieces, text_stream

    async def run() -> None:
        async with text_stream:
            async for piece in text_stream:
                pieces.append(piece)
                if stop_after is not None and len(pieces) >= stop_after:
                    break

    anyio.run(run)
    return pieces, text_stream


def run_stream(mode: str, client: InferenceClient, **kwargs: Any) -> Callable[[], Any]:
    call = stream if mode == "sync" else async_stream
    return lambda: call(client, LLAMA, {"prompt": "hi"}, **kwargs)


def follow(mode: str, client: InferenceClient, prediction: Prediction, **kwargs: Any) -> Callable[[], Any]:
    call = stream_prediction if mode == "sync" else async_stream_prediction
    return lambda: call(client, prediction, **kwargs)


def streaming_prediction(
    stream_url: str = f"{BASE_URL}/v1/predictions/ujebapbbulzpx25442efjv4qba/stream",
) -> Prediction:
    data = prediction_json()
    data["urls"]["stream"] = stream_url
    return Prediction.from_dict(data)


# --- run_sse ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_stream_posts_the_run_and_yields_pieces_as_they_come(mode: str) -> None:
    server = Server()
    server.responses.append(server.events([block("logs", "booting", 1), *script("Hel", "lo\n", "wörld", first_id=2)]))
    seen: list[ServerSentEvent] = []
    pieces, text_stream = drain(mode, run_stream(mode, mock_client(server), on_event=seen.append))
    assert pieces == ["Hel", "lo\n", "wörld"]
    assert text_stream.text == "Hello\nwörld"
    assert text_stream.logs == ["booting"]
    assert text_stream.last_event_id == "5"
    assert text_stream.done
    assert [event.event for event in seen] == ["logs", "output", "output", "output", "done"]
    (request,) = server.requests
    assert (request.method, request.url.path) == ("POST", "/v1/run_sse")
    assert json.loads(request.content) == {"model": LLAMA, "input": {"prompt": "hi"}}
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert server.bodies[0].closed


@pytest.mark.parametrize("name", ["text", "logs", "last_event_id", "done"])
def test_the_sync_and_async_streams_report_progress_with_the_same_documented_properties(name: str) -> None:
    sync_property, async_property = getattr(TextStream, name), getattr(AsyncTextStream, name)
    assert isinstance(sync_property, property)
    assert sync_property.__doc__
    assert async_property.__doc__ == sync_property.__doc__


@pytest.mark.parametrize("mode", MODES)
def test_events_gives_every_event_up_to_done(mode: str) -> None:
    server = Server()
    server.responses.append(server.events([*script("a", "b"), block("output", "after done", 9)]))
    client = mock_client(server)
    if mode == "sync":
        events = list(stream(client, LLAMA, {"prompt": "hi"}).events())
    else:

        async def collect() -> list[ServerSentEvent]:
            async with async_stream(client, LLAMA, {"prompt": "hi"}) as text_stream:
                return [event async for event in text_stream.events()]

        events = anyio.run(collect)
    assert [(event.event, event.data, event.id) for event in events] == [
        ("output", "a", "1"),
        ("output", "b", "2"),
        ("done", "{}", "3"),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_stopping_early_closes_the_response(mode: str) -> None:
    server = Server()
    server.responses.append(server.events(script("a", "b", "c", "d")))
    pieces, _ = drain(mode, run_stream(mode, mock_client(server)), stop_after=2)
    assert pieces == ["a", "b"]
    body = server.bodies[0]
    assert body.closed
    assert body.sent < len(body.chunks)  # not read to the end


def test_dropping_a_sync_stream_after_break_closes_the_response() -> None:
    server = Server()
    server.responses.append(server.events(script("a", "b", "c")))
    for piece in stream(mock_client(server), LLAMA, {"prompt": "hi"}):
        assert piece == "a"
        break
    assert server.bodies[0].closed


def test_closing_a_sync_stream_closes_the_response() -> None:
    server = Server()
    server.responses.append(server.events(script("a", "b", "c")))
    text_stream = stream(mock_client(server), LLAMA, {"prompt": "hi"})
    assert next(text_stream) == "a"
    text_stream.close()
    assert server.bodies[0].closed
    assert list(text_stream) == []


@pytest.mark.parametrize("mode", MODES)
def test_an_error_event_raises_stream_error_with_the_text_so_far(mode: str) -> None:
    server = Server()
    chunks = [*script("par", "tial", done=False), block("error", '{"detail": "CUDA out of memory"}', 3)]
    server.responses.append(server.events([*chunks, block("done", '{"reason": "failed"}', 4)]))
    with pytest.raises(errors.StreamError) as caught:
        drain(mode, run_stream(mode, mock_client(server)))
    assert caught.value.text == "partial"
    assert caught.value.detail == "CUDA out of memory"
    assert server.bodies[0].closed


@pytest.mark.parametrize("mode", MODES)
def test_a_canceled_done_on_a_run_raises_stream_canceled(mode: str) -> None:
    server = Server()
    server.responses.append(server.events([*script("so far", done=False), block("done", '{"reason": "canceled"}', 2)]))
    text_stream = run_stream(mode, mock_client(server))()
    with pytest.raises(errors.StreamCanceledError) as caught:  # a run: no prediction to carry
        drain(mode, lambda: text_stream)
    assert text_stream.text == "so far" == caught.value.text


@pytest.mark.parametrize("mode", MODES)
def test_a_run_cut_mid_body_raises_stream_error_and_is_not_sent_again(mode: str) -> None:
    server = Server()
    server.responses.append(server.events(script("a", "b", done=False), httpx.ReadError("connection reset")))
    with pytest.raises(errors.StreamError) as caught:
        drain(mode, run_stream(mode, mock_client(server)))
    assert caught.value.text == "ab"
    assert "connection reset" in str(caught.value)
    assert len(server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_run_whose_body_cannot_be_decoded_raises_stream_error_with_the_text(mode: str) -> None:
    server = Server()
    server.responses.append(server.corrupt_gzip_events(script("a", "b", done=False)))
    with pytest.raises(errors.StreamError) as caught:
        drain(mode, run_stream(mode, mock_client(server)))
    assert caught.value.text == "ab"
    assert "could not decode the response" in str(caught.value)
    # The typed error `send` gives an undecodable body, with httpx's error as its own cause.
    assert isinstance(caught.value.__cause__, errors.APIResponseError)
    assert isinstance(caught.value.__cause__.__cause__, httpx.DecodingError)
    assert len(server.requests) == 1
    assert server.bodies[0].closed


@pytest.mark.parametrize("mode", MODES)
def test_a_run_that_ends_without_done_raises_stream_error(mode: str) -> None:
    server = Server()
    server.responses.append(server.events(script("a", done=False)))
    with pytest.raises(errors.StreamError) as caught:
        drain(mode, run_stream(mode, mock_client(server)))
    assert caught.value.text == "a"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("response", "error_class"),
    [
        (status(401, "Invalid or missing token."), errors.AuthenticationError),
        (
            status(422, [{"loc": ["body", "model"], "msg": "unknown model", "type": "value_error"}]),
            errors.UnprocessableEntityError,
        ),
        (status(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"), errors.ServerError),
        (status(503, "busy", {"retry-after": "0"}), errors.ServerError),
        (status(520, "origin error"), errors.ServerError),
    ],
)
def test_error_statuses_before_the_stream_are_typed_and_a_run_is_not_retried(
    mode: str, response: Callable[..., httpx.Response], error_class: type[errors.APIStatusError]
) -> None:
    server = Server(response, response)
    with pytest.raises(error_class) as caught:
        drain(mode, run_stream(mode, mock_client(server)))
    assert len(server.requests) == 1  # a second POST could start a second run
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_run_is_retried_on_429_and_when_the_connection_never_opened(mode: str) -> None:
    sleeps = Sleeps()
    server = Server(status(429, "slow down", {"retry-after": "2"}), connect_error)
    server.responses.append(server.events(script("ok")))
    pieces, _ = drain(mode, run_stream(mode, mock_client(server, sleeps=sleeps)))
    assert pieces == ["ok"]
    assert len(server.requests) == 3
    assert sleeps[0] == 2.0  # Retry-After honoured


@pytest.mark.parametrize("mode", MODES)
def test_a_200_that_is_not_an_event_stream_is_refused(mode: str) -> None:
    server = Server(lambda request: httpx.Response(200, json={"data": {}}))
    with pytest.raises(errors.APIResponseError):
        drain(mode, run_stream(mode, mock_client(server)))


# --- following a prediction's stream ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_following_resumes_after_a_clean_cut_with_last_event_id_and_the_servers_retry(mode: str) -> None:
    sleeps = Sleeps()
    server = Server()
    server.responses.append(server.events([block("output", "a", 1, retry=1500), block("output", "b", 2)]))
    server.responses.append(server.events(script("c", "d", first_id=3)))
    pieces, text_stream = drain(mode, follow(mode, mock_client(server, sleeps=sleeps), streaming_prediction()))
    assert pieces == ["a", "b", "c", "d"]
    assert text_stream.done
    first, second = server.requests
    assert first.method == second.method == "GET"
    assert str(first.url) == f"{BASE_URL}/v1/predictions/ujebapbbulzpx25442efjv4qba/stream"
    assert "last-event-id" not in first.headers
    assert second.headers["last-event-id"] == "2"
    assert second.headers["accept"] == "text/event-stream"
    assert sleeps == [1.5]
    assert all(body.closed for body in server.bodies)


@pytest.mark.parametrize("mode", MODES)
def test_following_resumes_after_a_transport_error_and_caps_the_retry_delay(mode: str) -> None:
    sleeps = Sleeps()
    server = Server()
    server.responses.append(server.events([block("output", "a", 1, retry=600_000)], httpx.RemoteProtocolError("cut")))
    server.responses.append(server.events(script("b", first_id=2)))
    client = mock_client(server, sleeps=sleeps)
    pieces, _ = drain(mode, follow(mode, client, streaming_prediction(), resume=ResumePolicy(max_delay=3.0)))
    assert pieces == ["a", "b"]
    assert sleeps == [3.0]
    assert server.requests[1].headers["last-event-id"] == "1"


@pytest.mark.parametrize("mode", MODES)
def test_following_a_body_that_cannot_be_decoded_raises_stream_error_without_reconnecting(mode: str) -> None:
    server = Server()
    server.responses.append(server.corrupt_gzip_events([block("output", "a", 1), block("output", "b", 2)]))
    server.responses.append(server.events(script("c", first_id=3)))  # never asked for
    with pytest.raises(errors.StreamError) as caught:
        drain(mode, follow(mode, mock_client(server), streaming_prediction()))
    assert caught.value.text == "ab"
    assert "could not decode the response" in str(caught.value)
    assert isinstance(caught.value.__cause__, errors.APIResponseError)
    assert len(server.requests) == 1
    assert server.bodies[0].closed


@pytest.mark.parametrize("mode", MODES)
def test_a_server_that_replays_from_the_start_repeats_nothing(mode: str) -> None:
    server = Server()
    server.responses.append(server.events([block("output", "a", 1), block("output", "b", 2)]))
    server.responses.append(server.events(script("a", "b", "c")))  # ignores Last-Event-ID
    pieces, text_stream = drain(mode, follow(mode, mock_client(server), streaming_prediction()))
    assert pieces == ["a", "b", "c"]
    assert text_stream.text == "abc"


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_that_cannot_be_resumed_raises_with_all_the_text(mode: str) -> None:
    server = Server()
    server.responses.append(server.events([block("output", "a", 1)]))
    for _ in range(3):  # each reconnection brings nothing
        server.responses.append(server.events([], httpx.ReadError("reset")))
    client = mock_client(server)
    with pytest.raises(errors.StreamError) as caught:
        drain(mode, follow(mode, client, streaming_prediction(), resume=ResumePolicy(max_attempts=2)))
    assert caught.value.text == "a"
    assert "gave up" in str(caught.value)
    assert len(server.requests) == 3  # the first connection and 2 reconnections
    assert server.requests[-1].headers["last-event-id"] == "1"


@pytest.mark.parametrize("mode", MODES)
def test_reconnections_that_make_progress_are_not_counted_against_the_limit(mode: str) -> None:
    server = Server()
    for index in range(4):  # cut after every event
        server.responses.append(server.events([block("output", str(index), index + 1)]))
    server.responses.append(server.events([block("done", "{}", 5)]))
    client = mock_client(server)
    pieces, _ = drain(mode, follow(mode, client, streaming_prediction(), resume=ResumePolicy(max_attempts=1)))
    assert pieces == ["0", "1", "2", "3"]


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_without_ids_is_not_resumed_once_text_arrived(mode: str) -> None:
    server = Server()
    server.responses.append(server.events([block("output", "a")], httpx.ReadError("reset")))
    with pytest.raises(errors.StreamError) as caught:
        drain(mode, follow(mode, mock_client(server), streaming_prediction()))
    assert caught.value.text == "a"
    assert len(server.requests) == 1  # starting over would repeat "a"


@pytest.mark.parametrize("mode", MODES)
def test_the_first_connections_error_is_raised_as_is(mode: str) -> None:
    server = Server(status(404, "Prediction not found."))
    with pytest.raises(errors.NotFoundError):
        drain(mode, follow(mode, mock_client(server), streaming_prediction()))


@pytest.mark.parametrize("mode", MODES)
def test_a_reconnection_refused_for_good_raises_stream_error_with_the_text(mode: str) -> None:
    server = Server(status(401, "token revoked"), status(401, "token revoked"))
    server.responses.insert(0, server.events([block("output", "a", 1)], httpx.ReadError("reset")))
    with pytest.raises(errors.StreamError) as caught:
        drain(mode, follow(mode, mock_client(server), streaming_prediction()))
    assert caught.value.text == "a"
    assert caught.value.status_code == 401
    assert isinstance(caught.value.__cause__, errors.AuthenticationError)
    assert len(server.requests) == 2  # asking again would not change a 401


@pytest.mark.parametrize("mode", MODES)
def test_a_reconnection_that_meets_a_busy_server_tries_again(mode: str) -> None:
    sleeps = Sleeps()
    server = Server(status(503, "busy"), status(503, "busy"))
    server.responses.insert(0, server.events([block("output", "a", 1, retry=200)], httpx.ReadError("reset")))
    server.responses.append(server.events(script("b", first_id=2)))
    client = mock_client(server, retries=0, sleeps=sleeps)
    pieces, _ = drain(mode, follow(mode, client, streaming_prediction()))
    assert pieces == ["a", "b"]
    assert [request.headers.get("last-event-id") for request in server.requests] == [None, "1", "1", "1"]
    assert sleeps == [0.2, 0.2, 0.2]


@pytest.mark.parametrize("mode", MODES)
def test_the_token_is_not_sent_to_a_stream_on_another_origin(mode: str) -> None:
    server = Server()
    server.responses.append(server.events(script("a")))
    prediction = streaming_prediction("https://streams.example.net/p/ujebapbbulzpx25442efjv4qba")
    pieces, _ = drain(mode, follow(mode, mock_client(server), prediction))
    assert pieces == ["a"]
    (request,) = server.requests
    assert request.url.host == "streams.example.net"
    assert "authorization" not in request.headers
    assert TOKEN not in str(request.headers)


@pytest.mark.parametrize("mode", MODES)
def test_the_token_goes_to_a_stream_on_the_same_origin(mode: str) -> None:
    server = Server()
    server.responses.append(server.events(script("a")))
    drain(mode, follow(mode, mock_client(server), streaming_prediction()))
    assert server.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_a_prediction_without_a_stream_url_is_refused_before_any_request() -> None:
    server = Server()
    prediction = Prediction.from_dict(prediction_json())
    with pytest.raises(ValueError, match="stream=True"):
        list(stream_prediction(mock_client(server), prediction))
    assert server.requests == []


@pytest.mark.parametrize("stream_url", [f"{BASE_URL}/v1/predictions/p\x00/stream", f"https://cdn.test:{TOKEN}/s"])
@pytest.mark.parametrize("mode", MODES)
def test_a_malformed_stream_url_from_the_server_is_a_response_error_before_any_request(
    mode: str, stream_url: str
) -> None:
    server = Server()
    with pytest.raises(errors.APIResponseError, match="stream URL") as caught:
        drain(mode, follow(mode, mock_client(server), streaming_prediction(stream_url)))
    assert "not a valid URL" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert server.requests == []


def test_a_stream_url_that_answers_no_event_stream_is_described_without_its_query() -> None:
    # Signed URLs carry their credentials in the query; other errors leave it out too.
    client = mock_client(
        lambda request: httpx.Response(200, text="<html>hi</html>", headers={"content-type": "text/html"})
    )
    prediction = Prediction.from_dict(
        prediction_json(urls={**prediction_json()["urls"], "stream": "https://cdn.test/s?signature=SIGNED"})
    )
    with pytest.raises(errors.APIResponseError, match="not an event stream") as caught:
        list(stream_prediction(client, prediction))
    assert "SIGNED" not in str(caught.value)
    assert "https://cdn.test/s" in str(caught.value)
