"""Every failure of a call becomes an `inference_api.errors` error (in-process transport: single-function faults)."""

from __future__ import annotations

import datetime
from email.utils import format_datetime

import httpx
import pytest

from inference_api._http import error_from_response
from inference_api.errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)

from .calls_support import MODES, TOKEN, Sleeps, invoke, mock_client, prediction_json

NOW = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.UTC)
REQUEST = httpx.Request("GET", "http://api.test/v1/predictions/abc")


def response(status_code: int, **kwargs: object) -> httpx.Response:
    return httpx.Response(status_code, request=REQUEST, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status_code", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, PayloadTooLargeError),
        (418, APIStatusError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (520, ServerError),
        (599, ServerError),
    ],
)
def test_each_status_has_its_class(status_code: int, error_class: type[APIStatusError]) -> None:
    error = error_from_response(response(status_code, json={"detail": "nope"}))
    assert type(error) is error_class
    assert error.status_code == status_code
    assert error.detail == "nope"


def test_string_detail_is_in_the_message() -> None:
    error = error_from_response(response(404, json={"detail": "Prediction not found."}))
    assert str(error) == "404 Not Found from GET http://api.test/v1/predictions/abc: Prediction not found."


def test_validation_issues_are_summarised_and_kept() -> None:
    issues = [
        {"loc": ["body", "version"], "msg": "Field required", "type": "missing"},
        {"loc": ["body", "input", "max_frames"], "msg": "Input should be less than or equal to 64", "type": "le"},
    ]
    error = error_from_response(response(422, json={"detail": issues}))
    assert isinstance(error, UnprocessableEntityError)
    assert error.issues == issues
    assert str(error).endswith(
        ": body.version: Field required; body.input.max_frames: Input should be less than or equal to 64"
    )


def test_html_502_gives_a_readable_excerpt() -> None:
    page = "<html>\n<head><title>502 Bad Gateway</title><style>body {color: red}</style></head>\n<body>\n" + (
        "<center><h1>502   Bad\tGateway</h1></center>\n<hr><center>nginx</center>" * 10
    )
    error = error_from_response(response(502, text=page, headers={"content-type": "text/html"}))
    assert isinstance(error, ServerError)
    assert isinstance(error.detail, str)
    assert error.detail.startswith("502 Bad Gateway 502 Bad Gateway nginx 502 Bad Gateway nginx")
    assert "<" not in error.detail and "color" not in error.detail and "  " not in error.detail
    assert len(error.detail) == 200 and error.detail.endswith("…")


def test_plain_text_body_is_kept_whitespace_collapsed() -> None:
    error = error_from_response(response(500, text="upstream\n\n  exploded"))
    assert error.detail == "upstream exploded"
    assert str(error).endswith(
        "500 Internal Server Error from GET http://api.test/v1/predictions/abc: upstream exploded"
    )


def test_status_outside_http_status_is_fine() -> None:
    error = error_from_response(response(520, text=""))
    assert isinstance(error, ServerError)
    assert error.status_code == 520
    assert str(error).startswith("520 from GET")


def test_json_without_detail_is_kept_as_detail() -> None:
    error = error_from_response(response(500, json={"error": "boom"}))
    assert error.detail == {"error": "boom"}
    assert str(error).endswith(': {"error": "boom"}')


@pytest.mark.parametrize("header", ["X-Request-ID", "Request-Id", "x-amzn-RequestId"])
def test_request_id_from_headers(header: str) -> None:
    error = error_from_response(response(500, json={"detail": "x"}, headers={header: "req-42"}))
    assert error.request_id == "req-42"
    assert "request id req-42" in str(error)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("12", 12.0), (format_datetime(NOW + datetime.timedelta(seconds=45), usegmt=True), 45.0), ("garbage", None)],
)
def test_retry_after_on_429_and_5xx(value: str, seconds: float | None) -> None:
    for status_code in (429, 503):
        error = error_from_response(response(status_code, headers={"Retry-After": value}), now=NOW)
        assert error.retry_after == seconds


def test_retry_after_is_ignored_on_other_statuses() -> None:
    assert error_from_response(response(404, headers={"Retry-After": "5"}), now=NOW).retry_after is None


def test_attempts_are_on_the_error_and_in_its_text() -> None:
    error = error_from_response(response(503, json={"detail": "busy"}), attempts=3)
    assert error.attempts == 3
    assert str(error).endswith("(after 3 attempts)")


# Through the calls, sync and async.


@pytest.mark.parametrize("mode", MODES)
def test_malformed_json_on_200_is_a_response_error(mode: str) -> None:
    client = mock_client(
        lambda request: httpx.Response(200, content=b'{"data": {"id": ', headers={"X-Request-ID": "r1"})
    )
    with pytest.raises(APIResponseError) as caught:
        invoke(mode, "get", client, "abc")
    assert caught.value.status_code == 200
    assert caught.value.request_id == "r1"
    assert "is not JSON" in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        [prediction_json()],  # no envelope object
        {"prediction": prediction_json()},  # no "data"
        {"data": "abc"},  # "data" is not an object
        {"data": {key: value for key, value in prediction_json().items() if key != "id"}},  # a required field missing
        {"data": prediction_json(created_at="yesterday")},  # a field of the wrong shape
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_wrong_shape_on_200_is_a_response_error(mode: str, body: object) -> None:
    client = mock_client(lambda request: httpx.Response(200, json=body))
    with pytest.raises(APIResponseError, match="is not a prediction envelope"):
        invoke(mode, "get", client, "abc")


@pytest.mark.parametrize("mode", MODES)
def test_unknown_prediction_status_does_not_crash_a_get(mode: str) -> None:
    client = mock_client(lambda request: httpx.Response(200, json={"data": prediction_json(status="queued_for_gpu")}))
    prediction = invoke(mode, "get", client, "abc")
    assert prediction.status == "queued_for_gpu"


@pytest.mark.parametrize(
    ("exception", "error_class"),
    [
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.ReadError("reset by peer"), APIConnectionError),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), APIConnectionError),
        (httpx.ConnectTimeout("connect timed out"), APITimeoutError),
        (httpx.ReadTimeout("read timed out"), APITimeoutError),
        (httpx.PoolTimeout("no connection free"), APITimeoutError),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_transport_errors_are_wrapped_with_their_cause(
    mode: str, exception: httpx.TransportError, error_class: type[APIConnectionError]
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exception

    sleeps = Sleeps()
    client = mock_client(fail, retries=2, sleeps=sleeps)
    with pytest.raises(error_class) as caught:
        invoke(mode, "get", client, "abc")
    assert type(caught.value) is error_class
    assert caught.value.__cause__ is exception
    assert caught.value.attempts == 3
    assert len(sleeps) == 2
    assert "GET https://api.test/v1/predictions/abc" in str(caught.value)
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
def test_unsupported_scheme_is_not_retried(mode: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'.")

    sleeps = Sleeps()
    with pytest.raises(APIConnectionError):
        invoke(mode, "get", mock_client(fail, sleeps=sleeps), "abc")
    assert sleeps == []
