"""Calls against the real mock server over loopback, with its fault plans: sync, async, and async on aiohttp."""

from __future__ import annotations

import datetime
import re
import socket
import threading
from collections.abc import Iterator
from email.utils import format_datetime

import pytest

from inference_api._retry import RetryPolicy
from inference_api.errors import (
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    AuthenticationError,
    NotFoundError,
    PredictionError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)
from inference_api_client.models import MistralInstructInput, PredictionStatus
from inference_api_mock.models import ECHO, FAIL, LLAMA, MISTRAL
from inference_api_mock.testing import MockServer

from .calls_support import LOOPBACK_MODES, TOKEN, Caller, fresh, requests_to, start_server

GET_ROUTE = "GET /v1/predictions/{prediction_id}"
CREATE_ROUTE = "POST /v1/predictions"
RUN_ROUTE = "POST /v1/run"


@pytest.fixture(params=LOOPBACK_MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_create_get_and_run(server: MockServer, mode: str) -> None:
    call = Caller(mode, server)
    created = call("create", ECHO, {"text": "héllo", "n": [1, 2]}, stream=True)
    assert created.status in (PredictionStatus.STARTING, PredictionStatus.PROCESSING)
    assert created.urls.stream == f"{server.base_url}/v1/predictions/{created.id}/stream"
    fetched = call("get", created.id)
    assert fetched.id == created.id
    assert fetched.input_.to_dict() == {"text": "héllo", "n": [1, 2]}
    ran = call("run", ECHO, {"text": "again"})
    assert ran.status == PredictionStatus.SUCCEEDED
    assert ran.output == {"text": "again"}
    # Every request carried the token and our User-Agent.
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests)
    assert all(r.headers["user-agent"].startswith("inference-api/") for r in server.requests)


def test_run_with_a_typed_input(server: MockServer, mode: str) -> None:
    prediction = Caller(mode, server)("run", MISTRAL, MistralInstructInput(prompt="steamed hams", max_new_tokens=6))
    assert prediction.status == PredictionStatus.SUCCEEDED
    assert isinstance(prediction.output, list) and len(prediction.output) == 6
    assert all(isinstance(piece, str) for piece in prediction.output)


def test_a_failed_run_raises_with_the_prediction(server: MockServer, mode: str) -> None:
    with pytest.raises(PredictionError) as caught:
        Caller(mode, server)("run", FAIL, {"prompt": "x"})
    assert caught.value.prediction is not None
    assert caught.value.prediction.status == PredictionStatus.FAILED
    assert str(caught.value.prediction.error) in str(caught.value)


def test_cancel_of_a_finished_prediction_returns_it(server: MockServer, mode: str) -> None:
    call = Caller(mode, server)
    ran = call("run", ECHO, {"a": 1})
    canceled = call("cancel", ran)
    assert canceled.id == ran.id and canceled.status == PredictionStatus.SUCCEEDED


def test_api_errors(server: MockServer, mode: str) -> None:
    call = Caller(mode, server)
    with pytest.raises(NotFoundError, match=r"404 Not Found from GET .*/v1/predictions/nosuchprediction"):
        call("get", "nosuchprediction")
    with pytest.raises(UnprocessableEntityError) as caught:
        call("create", LLAMA, {"max_new_tokens": "x"})  # no prompt, and not a number
    assert caught.value.issues and all("msg" in issue for issue in caught.value.issues)
    with pytest.raises(AuthenticationError):
        Caller(mode, server, token="not-a-valid-token")("get", "abc")


# Fault plans.


def test_get_honours_retry_after_on_503(server: MockServer, mode: str) -> None:
    call = Caller(mode, server)
    prediction = call("run", ECHO, {"a": 1})
    server.clear_requests()
    server.fault(GET_ROUTE, status=503, retry_after="2")
    server.fault(GET_ROUTE, status=429, retry_after="1")
    assert call("get", prediction.id).id == prediction.id
    assert call.sleeps == [2.0, 1.0]
    assert len(requests_to(server, "GET", "/v1/predictions/")) == 3


def test_retry_after_as_a_date(server: MockServer, mode: str) -> None:
    call = Caller(mode, server)
    prediction = call("run", ECHO, {"a": 1})
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=20)
    server.fault(GET_ROUTE, status=503, retry_after=format_datetime(when, usegmt=True))
    call("get", prediction.id)
    assert len(call.sleeps) == 1 and 15 <= call.sleeps[0] <= 20


def test_a_retry_after_beyond_the_cap_gives_up_at_once(server: MockServer, mode: str) -> None:
    call = Caller(mode, server)
    server.fault(GET_ROUTE, status=429, retry_after="600")
    with pytest.raises(RateLimitError, match="asked to retry after 600 s, more than max_retry_after=60 s") as caught:
        call("get", "whatever")
    assert caught.value.retry_after == 600.0
    assert call.sleeps == []
    assert len(server.requests) == 1


def test_html_502_is_retried_then_readable(server: MockServer, mode: str) -> None:
    call = Caller(mode, server, retries=RetryPolicy(max_attempts=2))
    prediction = call("run", ECHO, {"a": 1})
    page = "<html><head><title>502</title></head><body>\n<h1>502   Bad Gateway</h1>\n</body></html>"
    server.fault(GET_ROUTE, status=502, body=page, content_type="text/html", times=1)
    assert call("get", prediction.id).id == prediction.id
    server.fault(GET_ROUTE, status=502, body=page, content_type="text/html", times=2)
    with pytest.raises(ServerError) as caught:
        call("get", prediction.id)
    assert caught.value.status_code == 502
    assert caught.value.detail == "502 502 Bad Gateway"
    assert caught.value.attempts == 2


def test_520_is_a_server_error_and_not_retried(server: MockServer, mode: str) -> None:
    call = Caller(mode, server)
    server.fault(GET_ROUTE, status=520)
    with pytest.raises(ServerError) as caught:
        call("get", "abc")
    assert caught.value.status_code == 520
    assert caught.value.attempts == 1
    assert len(server.requests) == 1


def test_malformed_json_is_a_response_error(server: MockServer, mode: str) -> None:
    server.fault(GET_ROUTE, malformed_json=True)
    with pytest.raises(APIResponseError, match="is not JSON"):
        Caller(mode, server)("get", "abc")


def test_a_slow_get_times_out_and_is_retried(server: MockServer, mode: str) -> None:
    call = Caller(mode, server, timeout=0.25, retries=1)
    prediction = call("run", ECHO, {"a": 1})
    server.fault(GET_ROUTE, delay=1.0, times=1)
    assert call("get", prediction.id).id == prediction.id
    server.fault(GET_ROUTE, delay=1.0, times=2)
    with pytest.raises(APITimeoutError) as caught:
        call("get", prediction.id)
    assert caught.value.attempts == 2


def test_a_slow_run_times_out_and_is_not_retried(server: MockServer, mode: str) -> None:
    call = Caller(mode, server, timeout=0.25, run_timeout=None)
    server.fault(RUN_ROUTE, delay=1.0)
    with pytest.raises(APITimeoutError) as caught:
        call("run", ECHO, {"a": 1})
    assert caught.value.attempts == 1
    assert "may have received the request" in str(caught.value)
    assert len(requests_to(server, "POST", "/v1/run")) == 1


def test_a_get_cut_mid_body_is_retried(server: MockServer, mode: str) -> None:
    call = Caller(mode, server)
    prediction = call("run", ECHO, {"a": 1})
    server.clear_requests()
    server.fault(GET_ROUTE, close_mid_body=True)
    assert call("get", prediction.id).id == prediction.id
    assert len(server.requests) == 2


@pytest.mark.parametrize(("name", "route"), [("create", CREATE_ROUTE), ("run", RUN_ROUTE)])
def test_a_create_cut_mid_body_never_creates_a_second_prediction(
    server: MockServer, mode: str, name: str, route: str
) -> None:
    call = Caller(mode, server)
    server.fault(route, close_mid_body=True)
    with pytest.raises(APIConnectionError) as caught:
        call(name, ECHO, {"a": 1})
    assert type(caught.value) is APIConnectionError
    assert caught.value.attempts == 1
    assert "not retried: the server may have received the request" in str(caught.value)
    assert call.sleeps == []
    assert len(requests_to(server, "POST", route.split()[1])) == 1


@pytest.mark.parametrize("status", [502, 503, 504])
def test_create_is_not_retried_on_5xx(server: MockServer, mode: str, status: int) -> None:
    call = Caller(mode, server)
    server.fault(CREATE_ROUTE, status=status, retry_after="0")
    with pytest.raises(ServerError):
        call("create", ECHO, {"a": 1})
    assert len(server.requests) == 1


def test_create_is_retried_on_429(server: MockServer, mode: str) -> None:
    call = Caller(mode, server)
    server.fault(CREATE_ROUTE, status=429, retry_after="1")
    created = call("create", ECHO, {"a": 1})
    assert call.sleeps == [1.0]
    assert len(requests_to(server, "POST", "/v1/predictions")) == 2
    assert call("get", created.id).id == created.id


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("name", ["create", "get"])
def test_connection_refused_is_retried_for_every_call(server: MockServer, mode: str, name: str) -> None:
    call = Caller(mode, server, base_url=f"http://127.0.0.1:{closed_port()}", retries=2)
    args = (ECHO, {"a": 1}) if name == "create" else ("abc",)
    with pytest.raises(APIConnectionError, match="could not connect") as caught:
        call(name, *args)
    assert type(caught.value) is APIConnectionError
    assert caught.value.attempts == 3
    assert len(call.sleeps) == 2


def test_chat_model_output_is_text_pieces(server: MockServer, mode: str) -> None:
    prediction = Caller(mode, server)("run", LLAMA, {"prompt": "Plan a day\nin SF", "max_new_tokens": 12})
    assert "".join(prediction.output)
    assert len(prediction.output) == 12


class DroppingServer:
    """A loopback TCP server that reads each request whole, then closes the connection without answering.

    The mock server can cut a body it has started; this is the other case, a request that reached
    the server and got no response at all, which must not be sent again when it creates something.
    """

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                while length and len(body) < int(length.group(1)):
                    body += connection.recv(65536)
                if head:
                    self.requests.append(head.split(b"\r\n", 1)[0])

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        self.listener.close()
        self.thread.join(5)


@pytest.fixture
def dropping_server() -> Iterator[DroppingServer]:
    server = DroppingServer()
    yield server
    server.close()


@pytest.mark.parametrize("name", ["create", "run"])
def test_a_create_that_got_no_response_is_not_sent_again(
    server: MockServer, dropping_server: DroppingServer, mode: str, name: str
) -> None:
    call = Caller(mode, server, base_url=dropping_server.base_url)
    with pytest.raises(APIConnectionError) as caught:
        call(name, ECHO, {"a": 1})
    assert type(caught.value) is APIConnectionError
    assert "not retried: the server may have received the request" in str(caught.value)
    assert len(dropping_server.requests) == 1


def test_a_get_that_got_no_response_is_retried(server: MockServer, dropping_server: DroppingServer, mode: str) -> None:
    call = Caller(mode, server, base_url=dropping_server.base_url, retries=2)
    with pytest.raises(APIConnectionError) as caught:
        call("get", "abc")
    assert caught.value.attempts == 3
    # One request an attempt on every transport: aiohttp's own retry of idempotent requests is off.
    assert dropping_server.requests == [b"GET /v1/predictions/abc HTTP/1.1"] * 3


@pytest.fixture(scope="module")
def slow_server() -> Iterator[MockServer]:
    # Real-looking speed: a prediction is still running when the cancel arrives.
    yield from start_server(speed=1.0)


@pytest.mark.parametrize("by", ["id", "prediction"])
def test_cancel_a_running_prediction(slow_server: MockServer, mode: str, by: str) -> None:
    call = Caller(mode, fresh(slow_server))
    created = call("create", LLAMA, {"prompt": "a long story", "max_new_tokens": 500})
    canceled = call("cancel", created.id if by == "id" else created)
    assert canceled.id == created.id
    assert canceled.status == PredictionStatus.CANCELED
    assert call("get", created.id).status == PredictionStatus.CANCELED
    assert [(r.method, r.path) for r in slow_server.requests][1] == ("POST", f"/v1/predictions/{created.id}/cancel")


class MalformedServer:
    """A loopback TCP server that answers every request with the same bytes, which are not valid HTTP.

    The mock server speaks correct HTTP through uvicorn; a broken proxy or server may not. Whatever
    the transport's parser (h11, aiohttp's), the caller must get an `inference_api.errors` error.
    """

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(self.answer)

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(5)


@pytest.mark.parametrize(
    "answer",
    [
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["status-line", "header-line", "content-length", "chunk-size"],
)
@pytest.mark.parametrize("name", ["create", "get"])
def test_a_response_that_is_not_http_is_a_typed_error(server: MockServer, mode: str, name: str, answer: bytes) -> None:
    malformed = MalformedServer(answer)
    try:
        call = Caller(mode, server, base_url=malformed.base_url, retries=0)
        args = (ECHO, {"a": 1}) if name == "create" else ("abc",)
        with pytest.raises(APIConnectionError) as caught:
            call(name, *args)
    finally:
        malformed.close()
    assert type(caught.value) is APIConnectionError
    assert caught.value.message.startswith("connection failed")
