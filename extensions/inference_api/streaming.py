"""Streaming a language model's output as it is generated.

    for piece in stream(client, LLAMA, {"prompt": "Hello"}):      # POST /v1/run_sse
        print(piece, end="", flush=True)

    prediction = create(client, LLAMA, {"prompt": "Hello"}, stream=True)
    with stream_prediction(client, prediction) as text:           # GET urls.stream, resumed if dropped
        for piece in text:
            print(piece, end="", flush=True)

Both return a `TextStream` (async: `AsyncTextStream`): an iterator of the `output` pieces that
also offers every event (`events()`, or an `on_event` callback), the text so far (`.text`) and
the logs (`.logs`). The body is read as it arrives, never buffered whole, and the response is
closed whenever iteration ends: at `done`, on an error, or when the caller stops early (leave the
`with` block, `break` out of the loop, or call `close()`).

- An `error` event raises `StreamError` (`.text`: the output received before it; `.detail`).
- A `done` event whose reason is `canceled` raises `PredictionCanceledError`: a canceled
  prediction is not a complete answer, and a loop that ends quietly would pass for one. The
  text received before it stays readable on the stream object (`.text`); the error's
  `.prediction` is the prediction being followed (as it was when following began). A run's
  stream has no prediction: it raises `StreamCanceledError` (`.text`). A `done` with any other
  reason raises `StreamError`.
- Errors before the stream starts (401, 422, 429, 5xx, ...) are the typed errors of every call.
  POST /v1/run_sse is retried only when the connection never opened, or on 429: a retry
  never starts a second run.
- A prediction's stream (`stream_prediction`) is resumed after a dropped connection, with
  `Last-Event-ID` and after the server's `retry` delay (capped; see `ResumePolicy`). An event is
  never delivered twice, whether the server resumes after that id or at it, and reconnections
  that bring no new event are bounded; when the stream cannot be resumed, `StreamError.text` has
  all the text received. The token goes only to the client's origin: a stream URL elsewhere is
  requested without it.
- `timeout` bounds the whole stream, reconnections included (default: the client's
  `run_timeout`, 600 s; `math.inf` for none), and `idle_timeout` the time without an event
  (default: none; the read timeout still bounds the time without a byte). Past either,
  `StreamTimeoutError` (a `StreamError` and an `APITimeoutError`) carries the text so far.
- A line or event over `ResponseLimits.max_event_size` (16 Mi characters) raises `StreamError`,
  without reconnecting: memory stays bounded whatever the server sends.
- Errors never quote the token, whatever the server echoes (events, headers, broken framing).

The meaning of events and the resume decisions are pure, in `_streaming`; this module is the
sync and async I/O around them.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from inference_api_client import AuthenticatedClient
from inference_api_client.api.models import run_model_sse
from inference_api_client.api.predictions import stream_prediction as stream_prediction_endpoint
from inference_api_client.models.prediction import Prediction
from inference_api_client.types import UNSET

from ._deadline import DeadlineExpired, sync_deadline

# The client's sleep hooks (InferenceClient.sleep / async_sleep) also time our reconnections.
from ._http import (
    _async_sleep,
    _sleep,
    async_deadline,
    async_send,
    attempts_of,
    body_error,
    checked_url,
    limits_of,
    run_deadline,
    secrets_of,
    send,
)
from ._http import _describe as describe_request
from ._security import excerpt, redact, scrub
from ._streaming import ResumePolicy, StreamClock, StreamState
from .calls import run_body
from .errors import APIError, APIResponseError, APIStatusError, APITimeoutError, StreamError
from .sse import ServerSentEvent

__all__ = [
    "AsyncTextStream",
    "EventCallback",
    "ResumePolicy",
    "TextStream",
    "async_stream",
    "async_stream_prediction",
    "stream",
    "stream_prediction",
]

logger = logging.getLogger("inference_api.streaming")

EventCallback = Callable[[ServerSentEvent], object]

_EVENT_STREAM = "text/event-stream"


# --- the stream objects ---------------------------------------------------------------------------


class _StreamProgress:
    """What a stream object reports about the stream so far; shared by the sync and async ones."""

    def __init__(self, state: StreamState) -> None:
        self._state = state

    @property
    def text(self) -> str:
        """All the output text received so far."""
        return self._state.text

    @property
    def logs(self) -> list[str]:
        """The data of every `logs` event so far."""
        return list(self._state.log_lines)

    @property
    def last_event_id(self) -> str:
        """The last event id the server set ("" if none): what resuming sends as `Last-Event-ID`."""
        return self._state.last_event_id

    @property
    def done(self) -> bool:
        """Whether the stream reached its `done` event."""
        return self._state.done


class TextStream(_StreamProgress, Iterator[str]):
    """The output text pieces of a stream, as they arrive; see the module docstring.

    Iterate it for text, or `events()` for every `ServerSentEvent` (output, logs, error, done):
    both read the same connection, so use one of them. `text` is all the text so far.
    """

    def __init__(self, events: Generator[ServerSentEvent, None, None], state: StreamState) -> None:
        super().__init__(state)
        self._events = events

    def __next__(self) -> str:
        for event in self._events:
            if event.event == "output":
                return event.data
        raise StopIteration

    def events(self) -> Iterator[ServerSentEvent]:
        """Every event, in order, until `done` (which is included)."""
        return self._events

    def close(self) -> None:
        """Stop reading and close the connection (also done on leaving a `with` block)."""
        self._events.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncTextStream(_StreamProgress, AsyncIterator[str]):
    """`TextStream` for async code: `async for piece in ...`, `events()`, `aclose()`, `async with`.

    Leave the `async with` block (or call `aclose()`) when stopping early: an async generator
    is not closed at once when dropped, so its connection would stay open until it is collected.
    """

    def __init__(self, events: AsyncGenerator[ServerSentEvent, None], state: StreamState) -> None:
        super().__init__(state)
        self._events = events

    async def __anext__(self) -> str:
        async for event in self._events:
            if event.event == "output":
                return event.data
        raise StopAsyncIteration

    def events(self) -> AsyncIterator[ServerSentEvent]:
        return self._events

    async def aclose(self) -> None:
        await self._events.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()


# --- shared pieces --------------------------------------------------------------------------------


def _run_request_kwargs(
    client: AuthenticatedClient,
    model: str,
    model_input: Mapping[str, Any] | Any,
    fields: Mapping[str, Any],
    caller: str,
    clock: StreamClock,
) -> dict[str, Any]:
    body = run_body(model, model_input, fields, caller, limits=limits_of(client), deadline=clock.total_deadline)
    kwargs = run_model_sse._get_kwargs(body=body)
    kwargs["headers"]["Accept"] = _EVENT_STREAM
    return kwargs


def _stream_url(client: AuthenticatedClient, prediction: Prediction) -> str:
    url = prediction.urls.stream
    if not isinstance(url, str) or not url:
        raise ValueError(f'prediction {prediction.id} has no stream URL: create it with stream=True ("stream": true)')
    try:
        checked_url(url, secrets=(client.token,))
    except ValueError as exc:
        # The server sent it: a response the SDK cannot use, not a mistake of the caller's.
        raise APIResponseError(f"the stream URL the server gave prediction {prediction.id} is {exc}") from None
    return url


def _follow_request_kwargs(prediction: Prediction, url: str, last_event_id: str) -> dict[str, Any]:
    # The generated endpoint supplies the headers; the URL is the prediction's own, as the spec says.
    kwargs = stream_prediction_endpoint._get_kwargs(
        prediction.id, last_event_id=last_event_id if last_event_id else UNSET
    )
    kwargs["url"] = url
    kwargs["headers"]["Accept"] = _EVENT_STREAM
    return kwargs


def _check_event_stream(response: httpx.Response, secrets: tuple[str, ...]) -> None:
    content_type = response.headers.get("content-type", "")
    if not content_type.lower().startswith(_EVENT_STREAM):
        shown = excerpt(content_type, 100, secrets)
        raise APIResponseError(
            f"{response.status_code} from {describe_request(response.request)} is not an event stream "
            f"(content-type {shown!r})",
            status_code=response.status_code,
            attempts=attempts_of(response),
        )


def _new_state(
    client: AuthenticatedClient, prediction: Prediction | None = None, *, keep_text: bool = True
) -> StreamState:
    return StreamState(prediction=prediction, secrets=secrets_of(client), limits=limits_of(client), keep_text=keep_text)


def _new_clock(client: AuthenticatedClient, timeout: float | None, idle_timeout: float | None) -> StreamClock:
    """The stream's clock, started now: see the module docstring for `timeout` and `idle_timeout`."""
    if idle_timeout is not None and not idle_timeout > 0:
        raise ValueError(f"idle_timeout must be a number of seconds > 0 or None, not {idle_timeout!r}")
    now = time.monotonic()
    total_deadline = run_deadline(client, timeout)
    clock = StreamClock(
        total_deadline=total_deadline,
        idle_timeout=idle_timeout,
        total_timeout=None if total_deadline == math.inf else total_deadline - now,
    )
    clock.started(now)
    return clock


def _deliver(state: StreamState, event: ServerSentEvent, on_event: EventCallback | None) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        shown = redact(f"{event.event} id={event.id or '-'}", state.secrets)
        logger.debug("event %s (%d characters)", shown, len(event.data))
    if on_event is not None:
        on_event(event)
    state.apply(event)  # raises for `error` and for a `done` that is not a success


def _read_chunks(response: httpx.Response, clock: StreamClock) -> Iterator[bytes]:
    """The body's chunks, every socket read cut to the clock's deadline (see `_deadline`)."""
    chunks = response.iter_bytes()
    while True:
        deadline = clock.deadline()
        in_force = sync_deadline.set(None if deadline == math.inf else deadline)
        try:
            chunk = next(chunks, None)
        finally:
            sync_deadline.reset(in_force)
        if chunk is None:
            return
        yield chunk


async def _aread_chunks(response: httpx.Response, clock: StreamClock) -> AsyncGenerator[bytes, None]:
    """`_read_chunks` for async code: one timer per connection cancels a read that passes the deadline."""
    chunks = response.aiter_bytes()
    deadline = clock.deadline()
    if deadline == math.inf:
        async for chunk in chunks:
            yield chunk
        return
    guard = async_deadline(deadline)
    try:
        while True:
            guard.deadline = clock.deadline()  # later after each event, with an idle timeout
            try:
                chunk = await guard.run(chunks.__anext__())
            except StopAsyncIteration:
                return
            yield chunk
    finally:
        guard.close()


def _saw_events(clock: StreamClock) -> None:
    if clock.idle_timeout is not None:
        clock.saw_event(time.monotonic())


def _check_clock(clock: StreamClock, state: StreamState) -> None:
    now = time.monotonic()
    if clock.expired(now):
        raise clock.error(state, now)


class _Reconnects:
    """The reconnect loop's bookkeeping, shared by the sync and async drivers."""

    def __init__(self, state: StreamState, policy: ResumePolicy, clock: StreamClock) -> None:
        self.state = state
        self.policy = policy
        self.clock = clock
        self.failures_in_a_row = 0
        self.connections = 0

    def start(self) -> None:
        self.connections += 1
        self.state.start_connection()

    def after_drop(self, cause: str, exc: BaseException | None = None) -> float:
        """Seconds to wait before reconnecting; raises StreamError (StreamTimeoutError) when not."""
        state = self.state
        # A connection that brought no new event (a server replaying what we have) is no progress.
        self.failures_in_a_row = 1 if state.events_this_connection else self.failures_in_a_row + 1
        _check_clock(self.clock, state)
        if not state.can_resume:
            raise state.ended_early(f"{cause}; the events carry no id to resume from") from exc
        if not self.policy.should_retry(self.failures_in_a_row):
            raise state.ended_early(f"{cause}; gave up after {self.connections} connections") from exc
        delay = min(self.policy.delay(state.retry_ms), max(0.0, self.clock.deadline() - time.monotonic()))
        logger.info(
            "stream dropped (%s) after event id %s; reconnecting in %.2f s",
            redact(cause, state.secrets),
            redact(state.last_event_id, state.secrets) or "-",
            delay,
        )
        return delay

    def after_connect_error(self, exc: APIError) -> float:
        """A reconnection failed (the calls' own retries are spent); the first connection's error is raised as is."""
        _check_clock(self.clock, self.state)
        if self.connections == 1:
            raise exc
        try:
            if _refused_for_good(exc):
                raise self.state.ended_early(f"could not reconnect: {exc}") from exc
            return self.after_drop(f"could not reconnect: {exc}", exc)
        except StreamError as error:
            error.status_code = exc.status_code
            raise


def _refused_for_good(exc: APIError) -> bool:
    # 401, 403, 404, 422 ... will not change by asking again; 408, 429 and 5xx might.
    status = exc.status_code
    return isinstance(exc, APIStatusError) and status is not None and 400 <= status < 500 and status not in (408, 429)


def _transport_cause(exc: httpx.TransportError) -> str:
    return f"connection lost: {type(exc).__name__}: {exc}" if str(exc) else f"connection lost: {type(exc).__name__}"


# --- sync -----------------------------------------------------------------------------------------


def stream(
    client: AuthenticatedClient,
    model: str,
    input: Mapping[str, Any] | Any,
    *,
    on_event: EventCallback | None = None,
    timeout: float | None = None,
    idle_timeout: float | None = None,
    **fields: Any,
) -> TextStream:
    """Run `model` ("owner/name:version") on `input` and stream its output text (POST /v1/run_sse).

    `input` is a dict or a typed input model (such as `LlamaChatInput`); local files in it are
    sent as `data:` URIs. `on_event` is called with every event, logs included. `timeout` and
    `idle_timeout`: see the module docstring. Other keyword arguments are further fields of
    `RunRequest`, if the spec has any. The request is sent when iteration starts; the timeouts
    count from this call.
    """
    state = _new_state(client)
    clock = _new_clock(client, timeout, idle_timeout)
    kwargs = _run_request_kwargs(client, model, input, fields, "stream", clock)
    return TextStream(_run_events(client, kwargs, state, on_event, clock), state)


def _run_events(
    client: AuthenticatedClient,
    kwargs: dict[str, Any],
    state: StreamState,
    on_event: EventCallback | None,
    clock: StreamClock,
) -> Generator[ServerSentEvent, None, None]:
    state.start_connection()
    try:
        # Not idempotent: retried only when the connection never opened, or on 429.
        response = _open_run(client, kwargs, state, clock)
        try:
            _check_event_stream(response, state.secrets)
            for chunk in _read_chunks(response, clock):
                events = state.feed(chunk)
                if events:
                    _saw_events(clock)
                    for event in events:
                        _deliver(state, event, on_event)
                        yield event
                        if state.done:
                            return
                _check_clock(clock, state)
        except httpx.TransportError as exc:
            _check_clock(clock, state)
            # A run cannot be resumed: sending the POST again would start another run.
            raise state.ended_early(_transport_cause(exc)) from exc
        except httpx.RequestError as exc:  # an undecodable body (httpx.DecodingError)
            undecodable = body_error(client, response, exc)
            raise state.ended_early(undecodable.message) from undecodable
        finally:
            response.close()
        raise state.ended_early("the server closed the stream")
    except Exception as error:  # the SDK's errors, and a ValueError quoting a URL the server sent
        scrub(error, state.secrets)
        raise


def _open_run(
    client: AuthenticatedClient, kwargs: dict[str, Any], state: StreamState, clock: StreamClock
) -> httpx.Response:
    try:
        return send(client, kwargs, idempotent=False, stream=True, deadline=clock.deadline())
    except APITimeoutError:
        _check_clock(clock, state)  # the stream's deadline: StreamTimeoutError, as for any stream
        raise


def stream_prediction(
    client: AuthenticatedClient,
    prediction: Prediction,
    *,
    on_event: EventCallback | None = None,
    resume: ResumePolicy | None = None,
    timeout: float | None = None,
    idle_timeout: float | None = None,
) -> TextStream:
    """Follow a prediction's `urls.stream` (created with `stream=True`) and stream its output text.

    A dropped connection is resumed after the last event id; `resume` says how often and after
    how long (default `ResumePolicy()`: up to 5 reconnections in a row without a new event, the
    server's `retry` delay capped at 10 s). `timeout` and `idle_timeout`: see the module docstring.
    """
    state = _new_state(client, prediction)
    clock = _new_clock(client, timeout, idle_timeout)
    return TextStream(_follow_events(client, prediction, state, resume or ResumePolicy(), on_event, clock), state)


def _follow_events(
    client: AuthenticatedClient,
    prediction: Prediction,
    state: StreamState,
    policy: ResumePolicy,
    on_event: EventCallback | None,
    clock: StreamClock,
) -> Generator[ServerSentEvent, None, None]:
    try:
        url = _stream_url(client, prediction)
        reconnects = _Reconnects(state, policy, clock)
        while True:
            reconnects.start()
            kwargs = _follow_request_kwargs(prediction, url, state.last_event_id)
            try:
                response = send(client, kwargs, idempotent=True, stream=True, deadline=clock.deadline())
            except APIError as exc:
                _sleep(client)(reconnects.after_connect_error(exc))
                continue
            try:
                _check_event_stream(response, state.secrets)
                for chunk in _read_chunks(response, clock):
                    events = state.feed(chunk)
                    if events:
                        _saw_events(clock)
                        for event in events:
                            _deliver(state, event, on_event)
                            yield event
                            if state.done:
                                return
                    _check_clock(clock, state)
            except httpx.TransportError as exc:
                delay = reconnects.after_drop(_transport_cause(exc), exc)
            except httpx.RequestError as exc:
                # An undecodable body (httpx.DecodingError: a corrupt gzip stream, a Content-Encoding
                # the body does not have) is not a dropped connection: the server would encode the
                # resumed stream the same way, so reconnecting cannot fix it.
                undecodable = body_error(client, response, exc)
                raise state.ended_early(undecodable.message) from undecodable
            else:
                delay = reconnects.after_drop("the server closed the stream before `done`")
            finally:
                response.close()
            _sleep(client)(delay)
    except Exception as error:  # the SDK's errors, and a ValueError quoting a URL the server sent
        scrub(error, state.secrets)
        raise


# --- async ----------------------------------------------------------------------------------------


def async_stream(
    client: AuthenticatedClient,
    model: str,
    input: Mapping[str, Any] | Any,
    *,
    on_event: EventCallback | None = None,
    timeout: float | None = None,
    idle_timeout: float | None = None,
    **fields: Any,
) -> AsyncTextStream:
    """`stream` for async code: `async with async_stream(...) as text: async for piece in text: ...`."""
    state = _new_state(client)
    clock = _new_clock(client, timeout, idle_timeout)
    kwargs = _run_request_kwargs(client, model, input, fields, "async_stream", clock)
    return AsyncTextStream(_async_run_events(client, kwargs, state, on_event, clock), state)


async def _async_run_events(
    client: AuthenticatedClient,
    kwargs: dict[str, Any],
    state: StreamState,
    on_event: EventCallback | None,
    clock: StreamClock,
) -> AsyncGenerator[ServerSentEvent, None]:
    state.start_connection()
    try:
        response = await _async_open_run(client, kwargs, state, clock)
        chunks = _aread_chunks(response, clock)
        try:
            _check_event_stream(response, state.secrets)
            async for chunk in chunks:
                events = state.feed(chunk)
                if events:
                    _saw_events(clock)
                    for event in events:
                        _deliver(state, event, on_event)
                        yield event
                        if state.done:
                            return
                _check_clock(clock, state)
        except DeadlineExpired:
            raise clock.error(state, time.monotonic()) from None
        except httpx.TransportError as exc:
            _check_clock(clock, state)
            raise state.ended_early(_transport_cause(exc)) from exc
        except httpx.RequestError as exc:
            undecodable = body_error(client, response, exc)
            raise state.ended_early(undecodable.message) from undecodable
        finally:
            await chunks.aclose()
            await response.aclose()
        raise state.ended_early("the server closed the stream")
    except Exception as error:  # the SDK's errors, and a ValueError quoting a URL the server sent
        scrub(error, state.secrets)
        raise


async def _async_open_run(
    client: AuthenticatedClient, kwargs: dict[str, Any], state: StreamState, clock: StreamClock
) -> httpx.Response:
    try:
        return await async_send(client, kwargs, idempotent=False, stream=True, deadline=clock.deadline())
    except APITimeoutError:
        _check_clock(clock, state)
        raise


def async_stream_prediction(
    client: AuthenticatedClient,
    prediction: Prediction,
    *,
    on_event: EventCallback | None = None,
    resume: ResumePolicy | None = None,
    timeout: float | None = None,
    idle_timeout: float | None = None,
) -> AsyncTextStream:
    """`stream_prediction` for async code."""
    state = _new_state(client, prediction)
    clock = _new_clock(client, timeout, idle_timeout)
    events = _async_follow_events(client, prediction, state, resume or ResumePolicy(), on_event, clock)
    return AsyncTextStream(events, state)


async def _async_follow_events(
    client: AuthenticatedClient,
    prediction: Prediction,
    state: StreamState,
    policy: ResumePolicy,
    on_event: EventCallback | None,
    clock: StreamClock,
) -> AsyncGenerator[ServerSentEvent, None]:
    try:
        url = _stream_url(client, prediction)
        reconnects = _Reconnects(state, policy, clock)
        while True:
            reconnects.start()
            kwargs = _follow_request_kwargs(prediction, url, state.last_event_id)
            try:
                response = await async_send(client, kwargs, idempotent=True, stream=True, deadline=clock.deadline())
            except APIError as exc:
                await _async_sleep(client)(reconnects.after_connect_error(exc))
                continue
            chunks = _aread_chunks(response, clock)
            try:
                _check_event_stream(response, state.secrets)
                async for chunk in chunks:
                    events = state.feed(chunk)
                    if events:
                        _saw_events(clock)
                        for event in events:
                            _deliver(state, event, on_event)
                            yield event
                            if state.done:
                                return
                    _check_clock(clock, state)
            except DeadlineExpired:
                raise clock.error(state, time.monotonic()) from None
            except httpx.TransportError as exc:
                delay = reconnects.after_drop(_transport_cause(exc), exc)
            except httpx.RequestError as exc:  # undecodable: not fixed by reconnecting (see the sync twin)
                undecodable = body_error(client, response, exc)
                raise state.ended_early(undecodable.message) from undecodable
            else:
                delay = reconnects.after_drop("the server closed the stream before `done`")
            finally:
                await chunks.aclose()
                await response.aclose()
            await _async_sleep(client)(delay)
    except Exception as error:  # the SDK's errors, and a ValueError quoting a URL the server sent
        scrub(error, state.secrets)
        raise
