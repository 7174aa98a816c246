import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.stream_done_event import StreamDoneEvent
from ...models.stream_error_event import StreamErrorEvent
from ...models.stream_logs_event import StreamLogsEvent
from ...models.stream_output_event import StreamOutputEvent
from ...sse import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEDecoder, iter_events
from ...types import (
    UNSET,
    Response,
    Unset,
    aread_bounded,
    check_media_type,
    http_status,
    media_type_is,
    path_segment,
    read_bounded,
)


def _get_kwargs(
    prediction_id: str,
    *,
    last_event_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["Last-Event-ID"] = last_event_id

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/predictions/{prediction_id}/stream".format(
            prediction_id=path_segment("prediction_id", prediction_id),
        ),
    }

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
    prediction_id: str,
    *,
    client: AuthenticatedClient | Client,
    last_event_id: str | Unset = UNSET,
) -> Response[ErrorResponse]:
    """Stream a prediction's events

    Reads the whole event stream before returning and parses none of it: use `sync_stream` or
    `asyncio_stream` to receive its events as they arrive.

     The server-sent event stream of a prediction created with `"stream": true`.
    Clients follow the prediction's `urls.stream` rather than build this path: the
    service may serve streams from another path or host.

    Events are `output` (the next piece of text), `logs`, `error` (JSON body) and
    `done` (JSON body, `{}` or `{"reason": "canceled"}`), each with an `id`. Text with
    line breaks travels as several `data:` lines. Comment lines keep an idle
    connection open. After a dropped connection, send the last `id` received as
    `Last-Event-ID` to resume after it.

    Args:
        prediction_id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse]
    """

    kwargs = _get_kwargs(
        prediction_id=prediction_id,
        last_event_id=last_event_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    prediction_id: str,
    *,
    client: AuthenticatedClient | Client,
    last_event_id: str | Unset = UNSET,
) -> ErrorResponse | None:
    """Stream a prediction's events

    Reads the whole event stream before returning and parses none of it: use `sync_stream` or
    `asyncio_stream` to receive its events as they arrive.

     The server-sent event stream of a prediction created with `"stream": true`.
    Clients follow the prediction's `urls.stream` rather than build this path: the
    service may serve streams from another path or host.

    Events are `output` (the next piece of text), `logs`, `error` (JSON body) and
    `done` (JSON body, `{}` or `{"reason": "canceled"}`), each with an `id`. Text with
    line breaks travels as several `data:` lines. Comment lines keep an idle
    connection open. After a dropped connection, send the last `id` received as
    `Last-Event-ID` to resume after it.

    Args:
        prediction_id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse
    """

    return sync_detailed(
        prediction_id=prediction_id,
        client=client,
        last_event_id=last_event_id,
    ).parsed


async def asyncio_detailed(
    prediction_id: str,
    *,
    client: AuthenticatedClient | Client,
    last_event_id: str | Unset = UNSET,
) -> Response[ErrorResponse]:
    """Stream a prediction's events

    Reads the whole event stream before returning and parses none of it: use `sync_stream` or
    `asyncio_stream` to receive its events as they arrive.

     The server-sent event stream of a prediction created with `"stream": true`.
    Clients follow the prediction's `urls.stream` rather than build this path: the
    service may serve streams from another path or host.

    Events are `output` (the next piece of text), `logs`, `error` (JSON body) and
    `done` (JSON body, `{}` or `{"reason": "canceled"}`), each with an `id`. Text with
    line breaks travels as several `data:` lines. Comment lines keep an idle
    connection open. After a dropped connection, send the last `id` received as
    `Last-Event-ID` to resume after it.

    Args:
        prediction_id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse]
    """

    kwargs = _get_kwargs(
        prediction_id=prediction_id,
        last_event_id=last_event_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    prediction_id: str,
    *,
    client: AuthenticatedClient | Client,
    last_event_id: str | Unset = UNSET,
) -> ErrorResponse | None:
    """Stream a prediction's events

    Reads the whole event stream before returning and parses none of it: use `sync_stream` or
    `asyncio_stream` to receive its events as they arrive.

     The server-sent event stream of a prediction created with `"stream": true`.
    Clients follow the prediction's `urls.stream` rather than build this path: the
    service may serve streams from another path or host.

    Events are `output` (the next piece of text), `logs`, `error` (JSON body) and
    `done` (JSON body, `{}` or `{"reason": "canceled"}`), each with an `id`. Text with
    line breaks travels as several `data:` lines. Comment lines keep an idle
    connection open. After a dropped connection, send the last `id` received as
    `Last-Event-ID` to resume after it.

    Args:
        prediction_id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse
    """

    return (
        await asyncio_detailed(
            prediction_id=prediction_id,
            client=client,
            last_event_id=last_event_id,
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
    prediction_id: str,
    *,
    client: AuthenticatedClient | Client,
    last_event_id: str | Unset = UNSET,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
) -> Iterator[Iterator[StreamDoneEvent | StreamErrorEvent | StreamLogsEvent | StreamOutputEvent | ServerSentEvent]]:
    """Stream a prediction's events

    Opens the event stream and yields its events as they arrive, each parsed into the model the API
    document gives one event (an event that fits none of them comes as the decoded ServerSentEvent).
    Leaving the `with` block closes the connection, also after a `break`.

    Args:
        prediction_id (str):
        last_event_id (str | Unset):
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
        prediction_id=prediction_id,
        last_event_id=last_event_id,
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
    prediction_id: str,
    *,
    client: AuthenticatedClient | Client,
    last_event_id: str | Unset = UNSET,
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
) -> AsyncIterator[
    AsyncIterator[StreamDoneEvent | StreamErrorEvent | StreamLogsEvent | StreamOutputEvent | ServerSentEvent]
]:
    """Stream a prediction's events

    Opens the event stream and yields its events as they arrive, each parsed into the model the API
    document gives one event (an event that fits none of them comes as the decoded ServerSentEvent).
    Leaving the `async with` block closes the connection, also after a `break`.

    Args:
        prediction_id (str):
        last_event_id (str | Unset):
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
        prediction_id=prediction_id,
        last_event_id=last_event_id,
    )

    async with client.get_async_httpx_client().stream(**kwargs) as response:
        if not _is_event_stream(response):
            raise _not_an_event_stream(client, await aread_bounded(response))
        events = _aiter_items(response, SSEDecoder(max_size=max_event_size))
        try:
            yield events
        finally:
            await events.aclose()
