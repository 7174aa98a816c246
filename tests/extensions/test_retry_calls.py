"""The retry loop as calls drive it, sync and async, over an in-process transport (loopback: test_calls_loopback)."""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Callable
from email.utils import format_datetime

import httpx
import pytest

from inference_api._retry import RetryPolicy
from inference_api.errors import APIConnectionError, RateLimitError, ServerError

from .calls_support import MODES, VERSION, Sleeps, invoke, mock_client, prediction_json


class Script:
    """Answers requests from a list of outcomes (responses or exceptions), then with `last`."""

    def __init__(self, *outcomes: httpx.Response | Exception, last: httpx.Response | None = None) -> None:
        self.outcomes = list(outcomes)
        self.last = last or httpx.Response(200, json={"data": prediction_json()})
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0) if self.outcomes else self.last
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def busy(status_code: int = 503, retry_after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(status_code, json={"detail": "busy"}, headers=headers)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["get", "cancel"])
def test_get_and_cancel_honour_retry_after(mode: str, name: str) -> None:
    script = Script(busy(503, "2"), busy(429, "3"), busy(502), busy(504))
    sleeps = Sleeps()
    prediction = invoke(mode, name, mock_client(script, sleeps=sleeps, retries=4), "abc")
    assert prediction.id == "ujebapbbulzpx25442efjv4qba"
    assert len(script.requests) == 5
    assert sleeps[:2] == [2.0, 3.0]
    # Without Retry-After: full jitter under the exponential ceiling of retries 3 and 4 (2 s, 4 s).
    assert 0 <= sleeps[2] <= 2.0 and 0 <= sleeps[3] <= 4.0


@pytest.mark.parametrize("mode", MODES)
def test_retry_after_as_an_http_date(mode: str) -> None:
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)
    script = Script(busy(503, format_datetime(when, usegmt=True)))
    sleeps = Sleeps()
    invoke(mode, "get", mock_client(script, sleeps=sleeps), "abc")
    assert len(sleeps) == 1
    assert 25 <= sleeps[0] <= 30


@pytest.mark.parametrize("mode", MODES)
def test_retry_after_beyond_the_cap_is_not_slept(mode: str) -> None:
    script = Script(busy(429, "600"))
    sleeps = Sleeps()
    with pytest.raises(RateLimitError) as caught:
        invoke(mode, "get", mock_client(script, sleeps=sleeps), "abc")
    assert sleeps == []
    assert len(script.requests) == 1
    assert caught.value.retry_after == 600.0
    assert "the server asked to retry after 600 s, more than max_retry_after=60 s" in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
def test_the_cap_is_configurable(mode: str) -> None:
    script = Script(busy(429, "600"))
    sleeps = Sleeps()
    # The call's total timeout (120 s by default) must leave room for the wait as well.
    client = mock_client(script, sleeps=sleeps, retries=RetryPolicy(max_retry_after=900), call_timeout=1000)
    invoke(mode, "get", client, "abc")
    assert sleeps == [600.0]


@pytest.mark.parametrize("mode", MODES)
def test_attempts_are_visible_when_retries_run_out(mode: str) -> None:
    script = Script(last=busy(503))
    sleeps = Sleeps()
    with pytest.raises(ServerError) as caught:
        invoke(mode, "get", mock_client(script, sleeps=sleeps, retries=RetryPolicy(max_attempts=3)), "abc")
    assert caught.value.attempts == 3
    assert len(script.requests) == 3
    assert len(sleeps) == 2
    assert str(caught.value).endswith("; gave up (after 3 attempts)")
    assert str(caught.value).count("attempts") == 1, "attempts are reported once"


@pytest.mark.parametrize("mode", MODES)
def test_retries_can_be_disabled(mode: str) -> None:
    script = Script(busy(503, "1"))
    sleeps = Sleeps()
    with pytest.raises(ServerError) as caught:
        invoke(mode, "get", mock_client(script, sleeps=sleeps, retries=0), "abc")
    assert caught.value.attempts == 1
    assert sleeps == []


def create_args() -> tuple[str, dict[str, str]]:
    return VERSION, {"prompt": "hi"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["create", "run"])
def test_create_and_run_are_retried_when_the_connection_never_opened(mode: str, name: str) -> None:
    script = Script(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("full"))
    sleeps = Sleeps()
    model = f"ali-vilab/i2vgen-xl:{VERSION}" if name == "run" else VERSION
    client = mock_client(script, sleeps=sleeps)
    invoke(mode, name, client, model, {"prompt": "hi"})
    assert len(script.requests) == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["create", "run"])
def test_create_and_run_are_retried_on_429(mode: str, name: str) -> None:
    script = Script(busy(429, "1"))
    sleeps = Sleeps()
    model = f"ali-vilab/i2vgen-xl:{VERSION}" if name == "run" else VERSION
    invoke(mode, name, mock_client(script, sleeps=sleeps), model, {"prompt": "hi"})
    assert len(script.requests) == 2
    assert sleeps == [1.0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["create", "run"])
@pytest.mark.parametrize(
    "make_outcome",
    [
        lambda: busy(503, "1"),
        lambda: busy(502),
        lambda: httpx.ReadError("reset"),
        lambda: httpx.RemoteProtocolError("Server disconnected without sending a response."),
        lambda: httpx.ReadTimeout("slow"),
        lambda: httpx.WriteTimeout("slow"),
    ],
    ids=["503", "502", "read-error", "disconnected", "read-timeout", "write-timeout"],
)
def test_create_and_run_are_not_retried_once_the_request_may_have_arrived(
    mode: str, name: str, make_outcome: Callable[[], httpx.Response | Exception]
) -> None:
    # A new response each time: a response object can be read once only.
    script = Script(make_outcome())
    sleeps = Sleeps()
    model = f"ali-vilab/i2vgen-xl:{VERSION}" if name == "run" else VERSION
    with pytest.raises((ServerError, APIConnectionError)) as caught:
        invoke(mode, name, mock_client(script, sleeps=sleeps), model, {"prompt": "hi"})
    assert len(script.requests) == 1
    assert sleeps == []
    assert caught.value.attempts == 1


@pytest.mark.parametrize("mode", MODES)
def test_retries_are_logged_without_the_token(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    script = Script(busy(503, "1"))
    with caplog.at_level(logging.DEBUG, logger="inference_api"):
        invoke(mode, "get", mock_client(script), "abc")
    messages = [record.getMessage() for record in caplog.records if record.name == "inference_api"]
    assert any(
        "503 Service Unavailable" in message and "retrying in 1.00 s (attempt 2 of 4)" in message
        for message in messages
    )
    assert any(re.search(r"-> 200 in \d+ ms \(attempt 2\)$", message) for message in messages), messages
