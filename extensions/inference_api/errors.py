"""Every error the SDK raises, in one module.

    APIError                      base: status_code, detail, request_id, attempts
    ├── APIConnectionError        no response: connection refused, reset, closed mid-body
    │   └── APITimeoutError       no response in time
    ├── APIResponseError          a response the SDK cannot read (malformed JSON, wrong shape)
    ├── APIStatusError            an HTTP error status; one class per meaningful status:
    │   ├── BadRequestError           400
    │   ├── AuthenticationError       401
    │   ├── PermissionDeniedError     403
    │   ├── NotFoundError             404
    │   ├── ConflictError             409
    │   ├── PayloadTooLargeError      413
    │   ├── UnprocessableEntityError  422 (.issues: the validation issues)
    │   ├── RateLimitError            429 (.retry_after)
    │   └── ServerError               5xx, including codes outside http.HTTPStatus such as 520 (.retry_after)
    ├── PredictionError           the prediction failed (.prediction)
    │   └── PredictionCanceledError   the prediction was canceled (.prediction)
    ├── StreamError               an `error` event, a stream that ended and could not be resumed, or
    │   │                         an event over the size limit (.text: the output received before it)
    │   ├── StreamCanceledError   a run's stream (run_sse) ended canceled: no prediction to carry
    │   └── StreamTimeoutError    the stream passed its total or idle timeout (also an APITimeoutError)
    └── WaitTimeoutError          wait() reached its deadline (.prediction: the last one seen, or
                                  None when the deadline passed before the first answer)

Every call ends by its total deadline with `APITimeoutError` (a stream with `StreamTimeoutError`),
whatever the server does. Messages, reprs and chained causes never contain the API token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inference_api_client.models.prediction import Prediction

    from .responses import RawResponse

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PredictionCanceledError",
    "PredictionError",
    "RateLimitError",
    "ServerError",
    "StreamCanceledError",
    "StreamError",
    "StreamTimeoutError",
    "UnprocessableEntityError",
    "WaitTimeoutError",
    "status_error_class",
]


class APIError(Exception):
    """Base of every error the SDK raises.

    `response`: the HTTP response the call ended on, when it ended on one (status, headers,
    request id, a bounded body; the token taken out), else None.
    """

    response: RawResponse | None = None

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        detail: Any = None,
        request_id: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.detail = detail
        self.request_id = request_id
        self.attempts = attempts

    def __str__(self) -> str:
        extras = []
        if self.request_id:
            extras.append(f"request id {self.request_id}")
        if self.attempts > 1:
            extras.append(f"after {self.attempts} attempts")
        return f"{self.message} ({', '.join(extras)})" if extras else self.message


class APIConnectionError(APIError):
    """The request got no response: the connection failed, was refused, or closed mid-body."""


class APITimeoutError(APIConnectionError):
    """The request got no response in time."""


class APIResponseError(APIError):
    """The server answered, but with a body the SDK cannot read (malformed JSON, wrong shape)."""


class APIStatusError(APIError):
    """The server answered with an HTTP error status."""

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        detail: Any = None,
        request_id: str | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, detail=detail, request_id=request_id, attempts=attempts)
        # Seconds the server asked us to wait (from Retry-After), when it said.
        self.retry_after = retry_after


class BadRequestError(APIStatusError):
    """400."""


class AuthenticationError(APIStatusError):
    """401: the token is missing or not valid."""


class PermissionDeniedError(APIStatusError):
    """403."""


class NotFoundError(APIStatusError):
    """404: no such prediction for this token."""


class ConflictError(APIStatusError):
    """409."""


class PayloadTooLargeError(APIStatusError):
    """413: the request body is too large."""


class UnprocessableEntityError(APIStatusError):
    """422: the request is not valid; `issues` lists FastAPI's validation errors, if any."""

    @property
    def issues(self) -> list[dict[str, Any]]:
        return [issue for issue in self.detail if isinstance(issue, dict)] if isinstance(self.detail, list) else []


class RateLimitError(APIStatusError):
    """429: too many requests; `retry_after` says how long the server asked to wait."""


class ServerError(APIStatusError):
    """5xx, including codes outside http.HTTPStatus such as 520."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The error class for an HTTP error status."""
    if status_code >= 500:
        return ServerError
    return _STATUS_ERRORS.get(status_code, APIStatusError)


class PredictionError(APIError):
    """The prediction failed; `prediction` is the failed prediction, its `error` says why.

    Always carries the prediction (a run's stream, which has none, raises StreamError instead).
    """

    def __init__(self, message: str, *, prediction: Prediction, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.prediction = prediction


class PredictionCanceledError(PredictionError):
    """The prediction was canceled before it finished."""


class StreamError(APIError):
    """The stream reported an error, or ended early and could not be resumed.

    `text` is the output text received before the error, so nothing already received is lost.
    """

    def __init__(self, message: str, *, text: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.text = text


class StreamCanceledError(StreamError):
    """A run's stream (`stream(client, model, ...)`, POST /v1/run_sse) ended with reason `canceled`.

    A prediction's stream raises PredictionCanceledError (with `.prediction`) instead; a run has no
    prediction to carry. `text` is the output text received before it.
    """


class StreamTimeoutError(StreamError, APITimeoutError):
    """The stream passed its total timeout, or went `idle_timeout` seconds without an event.

    A `StreamError` (`.text` holds the output received) and an `APITimeoutError` alike.
    """


class WaitTimeoutError(APIError):
    """wait() reached its deadline; `prediction` is the last state seen.

    None only when `wait` was given an id and the deadline passed before the first answer.
    """

    def __init__(self, message: str, *, prediction: Prediction | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.prediction = prediction
