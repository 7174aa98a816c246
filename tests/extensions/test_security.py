"""The token stays out of text and on its origin; path ids stay in their path segment."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from inference_api import _http
from inference_api._security import REDACTED, check_prediction_id, redact, same_origin
from inference_api.errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    PredictionCanceledError,
    PredictionError,
    status_error_class,
)
from inference_api_client import AuthenticatedClient

from .calls_support import BASE_URL, MODES, TOKEN, VERSION, Sleeps, invoke, mock_client, prediction_json

ESCAPING_IDS = ["", ".", "..", "a/b", "/", "../secrets", "abc/"]
# Percent-encoded, so safe, but never valid: whitespace only, around the id, control characters.
BLANK_IDS = [" ", "\t", "\u3000", " abc", "abc\n", "a\x00b", "a\x7fb", "a\x85b"]


@pytest.mark.parametrize("bad_id", [*ESCAPING_IDS, *BLANK_IDS])
@pytest.mark.parametrize("name", ["get", "cancel"])
@pytest.mark.parametrize("mode", MODES)
def test_ids_that_leave_their_path_or_are_blank_are_refused_before_any_request(
    mode: str, name: str, bad_id: str
) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"data": prediction_json()})

    with pytest.raises(ValueError, match="not a valid prediction id"):
        invoke(mode, name, mock_client(handler), bad_id)
    assert requests == []


def test_an_id_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="a prediction id is a string, not int"):
        check_prediction_id(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("prediction_id", "raw_path"),
    [
        ("ujebapbbulzpx25442efjv4qba", b"/v1/predictions/ujebapbbulzpx25442efjv4qba"),
        ("...", b"/v1/predictions/..."),
        ("a b?c#d%e", b"/v1/predictions/a%20b%3Fc%23d%25e"),
        ("..%2f..", b"/v1/predictions/..%252f.."),
        ("é\\", b"/v1/predictions/%C3%A9%5C"),
    ],
)
@pytest.mark.parametrize("name", ["get", "cancel"])
def test_other_ids_are_percent_encoded(name: str, prediction_id: str, raw_path: bytes) -> None:
    paths: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path)
        return httpx.Response(200, json={"data": prediction_json()})

    invoke("sync", name, mock_client(handler), prediction_id)
    assert paths == [raw_path + (b"/cancel" if name == "cancel" else b"")]


@pytest.mark.parametrize(
    ("url", "base_url", "same"),
    [
        ("http://127.0.0.1:8000/v1/x", "http://127.0.0.1:8000", True),
        ("http://127.0.0.1:8000/v1/x", "http://127.0.0.1:8000/", True),
        ("HTTP://Example.COM/a", "http://example.com", True),
        ("http://example.com:80/a", "http://example.com", True),
        ("https://example.com:443/a", "https://example.com/base/", True),
        ("/v1/predictions", "http://example.com", True),  # relative: resolved against the base
        ("http://localhost:8000/v1/x", "http://127.0.0.1:8000", False),
        ("http://127.0.0.1:8001/v1/x", "http://127.0.0.1:8000", False),
        ("https://example.com/a", "http://example.com", False),
        ("http://example.com.evil.test/a", "http://example.com", False),
        ("http://files.example.com/a", "http://example.com", False),
        ("http://example.com/a", "", False),
    ],
)
def test_same_origin(url: str, base_url: str, same: bool) -> None:
    assert same_origin(url, base_url) is same


def test_redact() -> None:
    assert redact(f"Bearer {TOKEN} and {TOKEN}", [TOKEN, None, ""]) == f"Bearer {REDACTED} and {REDACTED}"
    assert redact("nothing here", [TOKEN]) == "nothing here"


def authorization_by_host() -> tuple[dict[str, str | None], Callable[[httpx.Request], httpx.Response]]:
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[str(request.url)] = request.headers.get("authorization")
        if request.url.path == "/redirect-away":
            return httpx.Response(307, headers={"Location": "https://elsewhere.test/landing"})
        if request.url.path == "/redirect-home":
            return httpx.Response(307, headers={"Location": f"{BASE_URL}/landing"})
        return httpx.Response(200, json={"data": prediction_json()})

    return seen, handler


def send(mode: str, client: AuthenticatedClient, url: str) -> httpx.Response:
    request = {"method": "GET", "url": url}
    if mode == "sync":
        return _http.send(client, request, idempotent=True)
    return anyio.run(functools.partial(_http.async_send, client, request, idempotent=True))


@pytest.mark.parametrize("mode", MODES)
def test_absolute_urls_get_the_token_only_on_the_base_urls_origin(mode: str) -> None:
    seen, handler = authorization_by_host()
    client = mock_client(handler)
    urls = [f"{BASE_URL}/v1/predictions/abc/stream", "https://files.api.test/out.mp4", "http://api.test/x"]
    for url in urls:
        send(mode, client, url)
    assert seen == {urls[0]: f"Bearer {TOKEN}", urls[1]: None, urls[2]: None}


@pytest.mark.parametrize("url", ["https://files.api.test/a\x00b", f"https://files.api.test:{TOKEN}/out.mp4"])
@pytest.mark.parametrize("mode", MODES)
def test_a_malformed_absolute_url_is_a_value_error_before_any_request(mode: str, url: str) -> None:
    seen, handler = authorization_by_host()
    with pytest.raises(ValueError, match="not a valid URL") as caught:
        send(mode, mock_client(handler), url)
    assert TOKEN not in str(caught.value)
    assert seen == {}


@pytest.mark.parametrize("mode", MODES)
def test_redirects_to_another_origin_lose_the_token(mode: str) -> None:
    # httpx drops Authorization on a cross-origin redirect; this pins that connect() relies on it safely.
    seen, handler = authorization_by_host()
    client = mock_client(handler)
    for path in ("/redirect-away", "/redirect-home"):
        send(mode, client, path)
    assert seen == {
        f"{BASE_URL}/redirect-away": f"Bearer {TOKEN}",
        "https://elsewhere.test/landing": None,
        f"{BASE_URL}/redirect-home": f"Bearer {TOKEN}",
        f"{BASE_URL}/landing": f"Bearer {TOKEN}",
    }


# Every error type, provoked with a server and transport that echo the token back.

ECHOED = f"token {TOKEN} is not valid"


def status_case(status_code: int) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status_code,
            json={"detail": [{"loc": ["header", TOKEN], "msg": ECHOED, "type": "x"}] if status_code == 422 else ECHOED},
            headers={"X-Request-ID": f"req-{TOKEN}", "Retry-After": "1"},
        )

    return handler


def raising(exception: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception

    return handler


def prediction_case(status: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, json={"data": prediction_json(status=status, error=ECHOED)})


CASES: list[tuple[str, Callable[[httpx.Request], httpx.Response], type[APIError]]] = [
    *[
        ("get", status_case(code), status_error_class(code))
        for code in (400, 401, 403, 404, 409, 413, 418, 422, 429, 500, 502, 503, 520)
    ],
    ("get", raising(httpx.ConnectError(ECHOED)), APIConnectionError),
    ("get", raising(httpx.ReadError(ECHOED)), APIConnectionError),
    ("get", raising(httpx.ReadTimeout(ECHOED)), APITimeoutError),
    ("get", lambda request: httpx.Response(200, text=f"<html>{ECHOED}</html>"), APIResponseError),
    ("get", lambda request: httpx.Response(200, json={"data": {"note": ECHOED}}), APIResponseError),
    ("run", prediction_case("failed"), PredictionError),
    ("run", prediction_case("canceled"), PredictionCanceledError),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "handler", "error_class"), CASES)
def test_the_token_is_redacted_in_every_error_and_log(
    mode: str,
    name: str,
    handler: Callable[[httpx.Request], httpx.Response],
    error_class: type[APIError],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = mock_client(handler, retries=1, sleeps=Sleeps())
    args: tuple[Any, ...] = ("abc",) if name == "get" else (f"ali-vilab/i2vgen-xl:{VERSION}", {"prompt": "hi"})
    with caplog.at_level(logging.DEBUG), pytest.raises(error_class) as caught:
        invoke(mode, name, client, *args)
    error = caught.value
    assert type(error) is error_class
    texts = [str(error), repr(error), error.message, repr(error.detail), str(error.request_id)]
    texts += [repr(client), str(client), caplog.text]
    texts += [record.getMessage() for record in caplog.records]
    for text in texts:
        assert TOKEN not in text
    # The redaction is visible where the token was, so the rest of the text is kept.
    if error_class is not PredictionCanceledError:  # a canceled prediction's message quotes nothing
        assert REDACTED in str(error) + repr(error.detail)


def test_redact_also_covers_the_escaped_forms_of_a_secret() -> None:
    # Error messages often quote values with repr(), which escapes control characters.
    secret = "sec\x00ret"
    for text in (secret, repr(secret), repr(secret.encode())):
        assert "sec" not in redact(f"header {text}", [secret])
