import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.run_request import RunRequest
from ...models.stream_done_event import StreamDoneEvent
from ...models.stream_error_event import StreamErrorEvent
from ...models.stream_logs_event import StreamLogsEvent
from ...models.stream_output_event import StreamOutputEvent
from ...sse import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEDecoder, iter_events
from ...types import (
    Response,
    aread_bounded,
    check_media_type,
    http_status,
    media_type_is,
    read_bounded,
)


def _get_kwargs(
    *,
    body: RunRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/run_sse",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response, strict: bool = False
) -> ErrorResponse | None:
    if response.status_code == 200:
        try:
            check_media_type(response.headers.get("content-type"), "text/event-stream")
            return None
        except errors.NOT_THE_DOCUMENTED_BODY as exc:
            reason = errors.reason_of(exc)
        errors.raise_unexpected(client, response, errors.UnexpectedContent, reason, strict)
        return None

    if response.status_code == 401:
        try:
            check_media_type(response.headers.get("content-type"), "application/json")
            response_401 = ErrorResponse.from_dict(response.json())

            return response_401

        except errors.NOT_THE_DOCUMENTED_BODY as exc:
            reason = errors.reason_of(exc)
        errors.raise_unexpected(client, response, errors.UnexpectedContent, reason, strict)
        return None

    if response.status_code == 404:
        try:
            check_media_type(response.headers.get("content-type"), "application/json")
            response_404 = ErrorResponse.from_dict(response.json())

            return response_404

        except errors.NOT_THE_DOCUMENTED_BODY as exc:
            reason = errors.reason_of(exc)
        errors.raise_unexpected(client, response, errors.UnexpectedContent, reason, strict)
        return None

    if response.status_code == 413:
        try:
            check_media_type(response.headers.get("content-type"), "application/json")
            response_413 = ErrorResponse.from_dict(response.json())

            return response_413

        except errors.NOT_THE_DOCUMENTED_BODY as exc:
            reason = errors.reason_of(exc)
        errors.raise_unexpected(client, response, errors.UnexpectedContent, reason, strict)
        return None

    if response.status_code == 415:
        try:
            check_media_type(response.headers.get("content-type"), "application/json")
            response_415 = ErrorResponse.from_dict(response.json())

            return response_415

        except errors.NOT_THE_DOCUMENTED_BODY as exc:
            reason = errors.reason_of(exc)
        errors.raise_unexpected(client, response, errors.UnexpectedContent, reason, strict)
        return None

    if response.status_code == 422:
        try:
            check_media_type(response.headers.get("content-type"), "application/json")
            response_422 = ErrorResponse.from_dict(response.json())

            return response_422

        except errors.NOT_THE_DOCUMENTED_BODY as exc:
            reason = errors.reason_of(exc)
        errors.raise_unexpected(client, response, errors.UnexpectedContent, reason, strict)
        return None

    if response.status_code == 429:
        try:
            check_media_type(response.headers.get("content-type"), "application/json")
            response_429 = ErrorResponse.from_dict(response.json())

            return response_429

        except errors.NOT_THE_DOCUMENTED_BODY as exc:
            reason = errors.reason_of(exc)
        errors.raise_unexpected(client, response, errors.UnexpectedContent, reason, strict)
        return None

    if 500 <= response.status_code <= 599:
        try:
            check_media_type(response.headers.get("content-type"), "application/json")
            response_5xx = ErrorResponse.from_dict(response.json())

            return response_5xx

        except errors.NOT_THE_DOCUMENTED_BODY as exc:
            reason = errors.reason_of(exc)
        errors.raise_unexpected(client, response, errors.UnexpectedContent, reason, strict)
        return None

    errors.raise_unexpected(client, response, errors.UnexpectedStatus, None, strict)
    return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ErrorResponse]:
    return Response(
        status_code=http_status(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RunRequest,
) -> Response[ErrorResponse]:
    """Run a model, streaming its output

    Reads the whole event stream before returning and parses none of it: use `sync_stream` or
    `asyncio_stream` to receive its events as they arrive.

     Runs a language model and streams its output as server-sent events while it is
    generated: `output` events carry the next piece of text, `logs` events log lines,
    `error` a failure (JSON body), and `done` (JSON body) ends the stream.

    The body is the same as `runModel`'s, with the same checks.

    Args:
        body (RunRequest): A model to run. For the guide's three models `input` must match that
            model's input schema; other models take any input object.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: RunRequest,
) -> ErrorResponse | None:
    """Run a model, streaming its output

    Reads the whole event stream before returning and parses none of it: use `sync_stream` or
    `asyncio_stream` to receive its events as they arrive.

     Runs a language model and streams its output as server-sent events while it is
    generated: `output` events carry the next piece of text, `logs` events log lines,
    `error` a failure (JSON body), and `done` (JSON body) ends the stream.

    The body is the same as `runModel`'s, with the same checks.

    Args:
        body (RunRequest): A model to run. For the guide's three models `input` must match that
            model's input schema; other models take any input object.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RunRequest,
) -> Response[ErrorResponse]:
    """Run a model, streaming its output

    Reads the whole event stream before returning and parses none of it: use `sync_stream` or
    `asyncio_stream` to receive its events as they arrive.

     Runs a language model and streams its output as server-sent events while it is
    generated: `output` events carry the next piece of text, `logs` events log lines,
    `error` a failure (JSON body), and `done` (JSON body) ends the stream.

    The body is the same as `runModel`'s, with the same checks.

    Args:
        body (RunRequest): A model to run. For the guide's three models `input` must match that
            model's input schema; other models take any input object.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: RunRequest,
) -> ErrorResponse | None:
    """Run a model, streaming its output

    Reads the whole event stream before returning and parses none of it: use `sync_stream` or
    `asyncio_stream` to receive its events as they arrive.

     Runs a language model and streams its output as server-sent events while it is
    generated: `output` events carry the next piece of text, `logs` events log lines,
    `error` a failure (JSON body), and `done` (JSON body) ends the stream.

    The body is the same as `runModel`'s, with the same checks.

    Args:
        body (RunRequest): A model to run. For the guide's three models `input` must match that
            model's input schema; other models take any input object.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed


def _is_event_stream(response: httpx.Response) -> bool:
    return response.status_code == 200 and media_type_is(response.headers.get("content-type", ""), "text/event-stream")


def _not_an_event_stream(client: AuthenticatedClient | Client, response: httpx.Response) -> errors.UnexpectedStatus:
    """The error for an answer (read, and cut to a bound) that is not the event stream."""
    parsed = _parse_response(client=client, response=response, strict=True)
    error = errors.NotAnEventStream.from_response(
        response,
        secret=errors.client_secret(client),
        reason="Content-Type " + response.headers.get("content-type", "missing")[:100],
    )
    error.parsed = parsed
    return error


def _event_item(
    event: ServerSentEvent,
) -> StreamDoneEvent | StreamErrorEvent | StreamLogsEvent | StreamOutputEvent | ServerSentEvent:
    item: dict[str, Any] = {"event": event.event, "data": event.data}
    if event.id:
        item["id"] = event.id
    if event.retry is not None:
        item["retry"] = event.retry
    try:

        def _parse_response_200(
            data: object,
        ) -> StreamDoneEvent | StreamErrorEvent | StreamLogsEvent | StreamOutputEvent:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_stream_event_type_0 = StreamOutputEvent.from_dict(data)

                return componentsschemas_stream_event_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_stream_event_type_1 = StreamLogsEvent.from_dict(data)

                return componentsschemas_stream_event_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_stream_event_type_2 = StreamErrorEvent.from_dict(data)

                return componentsschemas_stream_event_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_stream_event_type_3 = StreamDoneEvent.from_dict(data)

            return componentsschemas_stream_event_type_3

        response_200 = _parse_response_200(item)

        return response_200
    except errors.NOT_THE_DOCUMENTED_BODY:
        # Not an event the API document describes: handed over as decoded, so that nothing is lost.
        return event


@contextlib.contextmanager
def sync_stream(
    *,
    client: AuthenticatedClient | Client,
    body: RunRequest,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
) -> Iterator[Iterator[StreamDoneEvent | StreamErrorEvent | StreamLogsEvent | StreamOutputEvent | ServerSentEvent]]:
    """Run a model, streaming its output

    Opens the event stream and yields its events as they arrive, each parsed into the model the API
    document gives one event (an event that fits none of them comes as the decoded ServerSentEvent).
    Leaving the `with` block closes the connection, also after a `break`.

    Args:
        body (RunRequest): A model to run. For the guide's three models `input` must match that
            model's input schema; other models take any input object.
        max_event_size (int): Characters in one line or one event's data beyond which the stream stops
            with sse.EventTooLarge.

    Raises:
        errors.NotAnEventStream: The answer is a documented one other than the stream (`parsed` holds it).
        errors.UnexpectedStatus: The status is not documented (whatever Client.raise_on_unexpected_status says).
        errors.UnexpectedContent: The answer's body is not the documented one.
        sse.EventTooLarge: A line or an event is longer than `max_event_size`.
        httpx.TimeoutException: If a read takes longer than Client.timeout.

    Yields:
        Iterator[StreamDoneEvent | StreamErrorEvent | StreamLogsEvent | StreamOutputEvent | ServerSentEvent]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    with client.get_httpx_client().stream(**kwargs) as response:
        if not _is_event_stream(response):
            raise _not_an_event_stream(client, read_bounded(response))
        decoder = SSEDecoder(max_size=max_event_size)
        events = (_event_item(event) for event in iter_events(response.iter_bytes(), decoder))
        try:
            yield events
        finally:
            events.close()


async def _aiter_items(
    response: httpx.Response, decoder: SSEDecoder
) -> AsyncGenerator[StreamDoneEvent | StreamErrorEvent | StreamLogsEvent | StreamOutputEvent | ServerSentEvent, None]:
    # One generator over the chunks (not one over the events of another), so that closing it
    # leaves no generator behind to be finalised after the response is closed.
    async for chunk in response.aiter_bytes():
        for event in decoder.feed(chunk):
            yield _event_item(event)
    decoder.close()


@contextlib.asynccontextmanager
async def asyncio_stream(
    *,
    client: AuthenticatedClient | Client,
    body: RunRequest,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
) -> AsyncIterator[
    AsyncIterator[StreamDoneEvent | StreamErrorEvent | StreamLogsEvent | StreamOutputEvent | ServerSentEvent]
]:
    """Run a model, streaming its output

    Opens the event stream and yields its events as they arrive, each parsed into the model the API
    document gives one event (an event that fits none of them comes as the decoded ServerSentEvent).
    Leaving the `async with` block closes the connection, also after a `break`.

    Args:
        body (RunRequest): A model to run. For the guide's three models `input` must match that
            model's input schema; other models take any input object.
        max_event_size (int): Characters in one line or one event's data beyond which the stream stops
            with sse.EventTooLarge.

    Raises:
        errors.NotAnEventStream: The answer is a documented one other than the stream (`parsed` holds it).
        errors.UnexpectedStatus: The status is not documented (whatever Client.raise_on_unexpected_status says).
        errors.UnexpectedContent: The answer's body is not the documented one.
        sse.EventTooLarge: A line or an event is longer than `max_event_size`.
        httpx.TimeoutException: If a read takes longer than Client.timeout.

    Yields:
        AsyncIterator[StreamDoneEvent | StreamErrorEvent | StreamLogsEvent | StreamOutputEvent | ServerSentEvent]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    async with client.get_async_httpx_client().stream(**kwargs) as response:
        if not _is_event_stream(response):
            raise _not_an_event_stream(client, await aread_bounded(response))
        events = _aiter_items(response, SSEDecoder(max_size=max_event_size))
        try:
            yield events
        finally:
            await events.aclose()
