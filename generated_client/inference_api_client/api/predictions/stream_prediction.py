from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...types import UNSET, Response, Unset


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
            prediction_id=quote(str(prediction_id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | ErrorResponse | None:
    if response.status_code == 200:
        response_200 = cast(Any, None)
        return response_200

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorResponse.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ErrorResponse.from_dict(response.json())

        return response_429

    if 500 <= response.status_code <= 599:
        response_5xx = ErrorResponse.from_dict(response.json())

        return response_5xx

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Any | ErrorResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    prediction_id: str,
    *,
    client: AuthenticatedClient | Client,
    last_event_id: str | Unset = UNSET,
) -> Response[Any | ErrorResponse]:
    """Stream a prediction's events

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
        Response[Any | ErrorResponse]
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
) -> Any | ErrorResponse | None:
    """Stream a prediction's events

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
        Any | ErrorResponse
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
) -> Response[Any | ErrorResponse]:
    """Stream a prediction's events

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
        Response[Any | ErrorResponse]
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
) -> Any | ErrorResponse | None:
    """Stream a prediction's events

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
        Any | ErrorResponse
    """

    return (
        await asyncio_detailed(
            prediction_id=prediction_id,
            client=client,
            last_event_id=last_event_id,
        )
    ).parsed
