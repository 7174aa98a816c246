from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.prediction_response import PredictionResponse
from ...types import Response, check_media_type, http_status, path_segment


def _get_kwargs(
    prediction_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/predictions/{prediction_id}/cancel".format(
            prediction_id=path_segment("prediction_id", prediction_id),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response, strict: bool = False
) -> ErrorResponse | PredictionResponse | None:
    if response.status_code == 200:
        try:
            check_media_type(response.headers.get("content-type"), "application/json")
            response_200 = PredictionResponse.from_dict(response.json())

            return response_200

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | PredictionResponse]:
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
) -> Response[ErrorResponse | PredictionResponse]:
    """Cancel a prediction

     Cancels a prediction that has not finished; it becomes `canceled`. Canceling a
    prediction whose status is already final changes nothing and answers with it.

    Args:
        prediction_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | PredictionResponse]
    """

    kwargs = _get_kwargs(
        prediction_id=prediction_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    prediction_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> ErrorResponse | PredictionResponse | None:
    """Cancel a prediction

     Cancels a prediction that has not finished; it becomes `canceled`. Canceling a
    prediction whose status is already final changes nothing and answers with it.

    Args:
        prediction_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | PredictionResponse
    """

    return sync_detailed(
        prediction_id=prediction_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    prediction_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ErrorResponse | PredictionResponse]:
    """Cancel a prediction

     Cancels a prediction that has not finished; it becomes `canceled`. Canceling a
    prediction whose status is already final changes nothing and answers with it.

    Args:
        prediction_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | PredictionResponse]
    """

    kwargs = _get_kwargs(
        prediction_id=prediction_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    prediction_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> ErrorResponse | PredictionResponse | None:
    """Cancel a prediction

     Cancels a prediction that has not finished; it becomes `canceled`. Canceling a
    prediction whose status is already final changes nothing and answers with it.

    Args:
        prediction_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | PredictionResponse
    """

    return (
        await asyncio_detailed(
            prediction_id=prediction_id,
            client=client,
        )
    ).parsed
