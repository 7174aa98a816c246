"""Create, get, cancel and run predictions, sync and async.

Each call builds its request with the generated endpoint's `_get_kwargs(...)` and the generated
models, sends it through `_http` (retries, typed errors, the token kept to its origin) and returns
the `Prediction` unwrapped from its `{"data": ...}` envelope. Each call ends by its total
deadline, retries included (the client's `call_timeout`; `run_timeout` for a run), whatever the
server does: past it, `APITimeoutError`.

    client = connect()
    prediction = create(client, IMAGE_TO_VIDEO, {"image": Path("statue.jpg"), "prompt": "..."})
    prediction = get(client, prediction.id)
    prediction = cancel(client, prediction)
    prediction = run(client, MISTRAL, MistralInstructInput(prompt="Write a haiku"))

Request fields beyond the model and its input (`stream`, `webhook`, and any field openapi.yaml
gains) are keyword arguments, checked against the generated request model (`_requests`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from inference_api_client import AuthenticatedClient
from inference_api_client.api.models import run_model
from inference_api_client.api.predictions import cancel_prediction, create_prediction, get_prediction
from inference_api_client.models.create_prediction_request import CreatePredictionRequest
from inference_api_client.models.prediction import Prediction
from inference_api_client.models.prediction_status import PredictionStatus
from inference_api_client.models.run_request import RunRequest
from inference_api_client.models.webhook_event import WebhookEvent

from . import _http
from ._limits import DEFAULT_LIMITS, ResponseLimits
from ._refs import check_model_ref, version_of
from ._requests import build_body
from ._security import check_prediction_id, redact
from .errors import PredictionCanceledError, PredictionError
from .files import encode_input

__all__ = ["async_cancel", "async_create", "async_get", "async_run", "cancel", "create", "get", "run"]

ModelInput = Mapping[str, Any] | Any  # a dict, or a generated input model (anything with `to_dict()`)


def _prediction_id(prediction_or_id: Prediction | str) -> str:
    prediction_id = prediction_or_id.id if isinstance(prediction_or_id, Prediction) else prediction_or_id
    return check_prediction_id(prediction_id)


def _create_kwargs(
    version: str,
    model_input: ModelInput,
    stream: bool,
    webhook: str | None,
    webhook_events_filter: Iterable[WebhookEvent | str] | None,
    fields: Mapping[str, Any],
    caller: str,
    client: AuthenticatedClient,
    deadline: float,
) -> dict[str, Any]:
    options = dict(fields, stream=stream)
    if webhook is not None:
        options["webhook"] = webhook
    if webhook_events_filter is not None:
        options["webhook_events_filter"] = list(webhook_events_filter)
    # A full model ref "owner/name:version" is accepted too: the version is what follows ":".
    version = version_of(version)
    required = {
        "version": version,
        "input": encode_input(model_input, limits=_http.limits_of(client), deadline=deadline),
    }
    return create_prediction._get_kwargs(body=build_body(CreatePredictionRequest, required, options, caller))


def run_body(
    model: str,
    model_input: ModelInput,
    fields: Mapping[str, Any],
    caller: str,
    *,
    limits: ResponseLimits = DEFAULT_LIMITS,
    deadline: float = math.inf,
) -> RunRequest:
    """The body of /v1/run and /v1/run_sse; local files in the input read by `deadline`."""
    model = check_model_ref(model)
    model_input = encode_input(model_input, limits=limits, deadline=deadline)
    return build_body(RunRequest, {"model": model, "input": model_input}, fields, caller)


def _run_kwargs(
    client: AuthenticatedClient,
    model: str,
    model_input: ModelInput,
    timeout: httpx.Timeout,
    fields: Mapping[str, Any],
    deadline: float,
) -> dict[str, Any]:
    body = run_body(model, model_input, fields, "run", limits=_http.limits_of(client), deadline=deadline)
    kwargs = run_model._get_kwargs(body=body)
    run_timeout = getattr(client, "run_timeout", None)
    if run_timeout is not None and timeout.read is not None:
        # /v1/run answers only when the model is done: wait longer for it than for other calls.
        kwargs["timeout"] = httpx.Timeout(
            connect=timeout.connect, read=max(timeout.read, run_timeout), write=timeout.write, pool=timeout.pool
        )
    return kwargs


def _finished(prediction: Prediction, client: AuthenticatedClient, attempts: int) -> Prediction:
    secrets = (client.token,)  # the server wrote the id and the error: either may quote it
    if prediction.status == PredictionStatus.FAILED:
        message = f"prediction {prediction.id} failed: {prediction.error or 'no error message'}"
        raise PredictionError(redact(message, secrets), prediction=prediction, attempts=attempts)
    if prediction.status == PredictionStatus.CANCELED:
        message = f"prediction {prediction.id} was canceled"
        raise PredictionCanceledError(redact(message, secrets), prediction=prediction, attempts=attempts)
    return prediction


def create(
    client: AuthenticatedClient,
    version: str,
    input: ModelInput,
    *,
    stream: bool = False,
    webhook: str | None = None,
    webhook_events_filter: Iterable[WebhookEvent | str] | None = None,
    **fields: Any,
) -> Prediction:
    """Start a prediction and return it at once, before the model has run.

    `version` is the 64-hex model version (or a full `owner/name:version` ref). `input` is a dict
    or a typed input model (`ImageToVideoInput`, ...); local files in it (`pathlib.Path`, open
    binary files) are sent as `data:` URIs. With `stream=True` the prediction's `urls.stream` is
    set. Other keyword arguments are further fields of `CreatePredictionRequest` (a field the
    spec gains works at once). Retried only when the request cannot have reached the server, or
    on 429: a retry never creates a second prediction.

    Example:
        >>> prediction = create(client, IMAGE_TO_VIDEO, {"image": Path("statue.jpg"), "prompt": "statues talking"})
        >>> prediction.status
        <PredictionStatus.STARTING: 'starting'>
    """
    deadline = _http.call_deadline(client)  # reading the input's files counts against it
    kwargs = _create_kwargs(version, input, stream, webhook, webhook_events_filter, fields, "create", client, deadline)
    return _http.parse_prediction(_http.send(client, kwargs, idempotent=False, deadline=deadline), client)


def get(client: AuthenticatedClient, prediction_id: Prediction | str) -> Prediction:
    """Fetch a prediction by id (or refresh a `Prediction`), with retries.

    Ids that are empty, `.`, `..` or contain `/` raise `ValueError` before any request is sent.

    Example:
        >>> get(client, "ujebapbbulzpx25442efjv4qba").status
        <PredictionStatus.SUCCEEDED: 'succeeded'>
    """
    return get_before(client, prediction_id, deadline=None)


def get_before(client: AuthenticatedClient, prediction_id: Prediction | str, deadline: float | None) -> Prediction:
    """`get`, given up at `deadline` (on `time.monotonic()`), retries and timeouts included."""
    kwargs = get_prediction._get_kwargs(_prediction_id(prediction_id))
    return _http.parse_prediction(_http.send(client, kwargs, idempotent=True, deadline=deadline), client)


def cancel(client: AuthenticatedClient, prediction_or_id: Prediction | str) -> Prediction:
    """Cancel a prediction (by id or `Prediction`) and return it; a finished one is returned unchanged.

    Example:
        >>> cancel(client, prediction).status
        <PredictionStatus.CANCELED: 'canceled'>
    """
    return cancel_before(client, prediction_or_id, deadline=None)


def cancel_before(
    client: AuthenticatedClient, prediction_or_id: Prediction | str, deadline: float | None
) -> Prediction:
    """`cancel`, given up at `deadline` (on `time.monotonic()`), retries and timeouts included."""
    kwargs = cancel_prediction._get_kwargs(_prediction_id(prediction_or_id))
    return _http.parse_prediction(_http.send(client, kwargs, idempotent=True, deadline=deadline), client)


def run(client: AuthenticatedClient, model: str, input: ModelInput, **fields: Any) -> Prediction:
    """Run a model (`owner/name:version`) and return the finished, succeeded prediction.

    Raises `PredictionError` (with `.prediction`) when the prediction failed and
    `PredictionCanceledError` when it was canceled. Waits up to the client's `run_timeout`, retries
    included (then `APITimeoutError`). Keyword arguments are further fields of `RunRequest`, if the
    spec has any.

    Example:
        >>> run(client, MISTRAL, MistralInstructInput(prompt="A haiku about ham")).output
        ['Steamed', ' hams', ...]
    """
    deadline = _http.run_deadline(client)
    kwargs = _run_kwargs(client, model, input, client.get_httpx_client().timeout, fields, deadline)
    response = _http.send(client, kwargs, idempotent=False, deadline=deadline)
    return _finished(_http.parse_prediction(response, client), client, _http.attempts_of(response))


async def async_create(
    client: AuthenticatedClient,
    version: str,
    input: ModelInput,
    *,
    stream: bool = False,
    webhook: str | None = None,
    webhook_events_filter: Iterable[WebhookEvent | str] | None = None,
    **fields: Any,
) -> Prediction:
    """`create` for async code.

    Example:
        >>> prediction = await async_create(client, LLAMA, {"prompt": "Hello"}, stream=True)
    """
    deadline = _http.call_deadline(client)  # reading the input's files counts against it
    kwargs = _create_kwargs(
        version, input, stream, webhook, webhook_events_filter, fields, "async_create", client, deadline
    )
    return _http.parse_prediction(await _http.async_send(client, kwargs, idempotent=False, deadline=deadline), client)


async def async_get(client: AuthenticatedClient, prediction_id: Prediction | str) -> Prediction:
    """`get` for async code.

    Example:
        >>> prediction = await async_get(client, prediction.id)
    """
    return await async_get_before(client, prediction_id, deadline=None)


async def async_get_before(
    client: AuthenticatedClient, prediction_id: Prediction | str, deadline: float | None
) -> Prediction:
    """`get_before` for async code."""
    kwargs = get_prediction._get_kwargs(_prediction_id(prediction_id))
    return _http.parse_prediction(await _http.async_send(client, kwargs, idempotent=True, deadline=deadline), client)


async def async_cancel(client: AuthenticatedClient, prediction_or_id: Prediction | str) -> Prediction:
    """`cancel` for async code.

    Example:
        >>> prediction = await async_cancel(client, prediction)
    """
    return await async_cancel_before(client, prediction_or_id, deadline=None)


async def async_cancel_before(
    client: AuthenticatedClient, prediction_or_id: Prediction | str, deadline: float | None
) -> Prediction:
    """`cancel_before` for async code."""
    kwargs = cancel_prediction._get_kwargs(_prediction_id(prediction_or_id))
    return _http.parse_prediction(await _http.async_send(client, kwargs, idempotent=True, deadline=deadline), client)


async def async_run(client: AuthenticatedClient, model: str, input: ModelInput, **fields: Any) -> Prediction:
    """`run` for async code.

    Example:
        >>> prediction = await async_run(client, MISTRAL, {"prompt": "A haiku about ham"})
    """
    deadline = _http.run_deadline(client)
    kwargs = _run_kwargs(client, model, input, client.get_async_httpx_client().timeout, fields, deadline)
    response = await _http.async_send(client, kwargs, idempotent=False, deadline=deadline)
    return _finished(_http.parse_prediction(response, client), client, _http.attempts_of(response))
