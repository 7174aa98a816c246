from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.run_request import RunRequest
from ...types import Response


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

    if response.status_code == 413:
        response_413 = ErrorResponse.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = ErrorResponse.from_dict(response.json())

        return response_415

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
    *,
    client: AuthenticatedClient | Client,
    body: RunRequest,
) -> Response[Any | ErrorResponse]:
    """Run a model, streaming its output

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
        Response[Any | ErrorResponse]
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
) -> Any | ErrorResponse | None:
    """Run a model, streaming its output

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
        Any | ErrorResponse
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RunRequest,
) -> Response[Any | ErrorResponse]:
    """Run a model, streaming its output

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
        Response[Any | ErrorResponse]
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
) -> Any | ErrorResponse | None:
    """Run a model, streaming its output

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
        Any | ErrorResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
