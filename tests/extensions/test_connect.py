"""connect(): token and base URL from arguments or the environment, timeouts, User-Agent, retries, transport."""

from __future__ import annotations

import importlib.metadata
import logging
import platform
import re
import sys
import tomllib
from pathlib import Path

import anyio
import httpx
import pytest
import yaml

from inference_api import connection
from inference_api._retry import RetryPolicy
from inference_api.connection import BASE_URL_ENV, DEFAULT_BASE_URL, TOKEN_ENV, InferenceClient, connect
from inference_api_client import AuthenticatedClient
from inference_api_client.api.predictions import get_prediction
from inference_api_client.models.prediction_response import PredictionResponse

from .calls_support import BASE_URL, TOKEN, mock_client, prediction_json

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"


def base_url_of(client: AuthenticatedClient) -> str:
    return str(client.get_httpx_client().base_url).rstrip("/")


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (TOKEN_ENV, BASE_URL_ENV, *PROXY_VARIABLES):
        monkeypatch.delenv(name, raising=False)


def test_token_and_base_url_from_arguments() -> None:
    client = connect("tok-12345", "http://127.0.0.1:8000/")
    assert isinstance(client, AuthenticatedClient)
    assert client.token == "tok-12345"
    assert base_url_of(client) == "http://127.0.0.1:8000"


def test_token_and_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, " env-token\n")
    monkeypatch.setenv(BASE_URL_ENV, "http://localhost:9999")
    client = connect()
    assert client.token == "env-token"
    assert base_url_of(client) == "http://localhost:9999"


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "env-token")
    monkeypatch.setenv(BASE_URL_ENV, "http://localhost:9999")
    client = connect("arg-token", "http://127.0.0.1:1234")
    assert client.token == "arg-token"
    assert base_url_of(client) == "http://127.0.0.1:1234"


@pytest.mark.parametrize("token", [None, "", "   "])
def test_no_token_is_a_clear_error(token: str | None) -> None:
    with pytest.raises(ValueError, match=f"no API token: pass connect\\(token=...\\) or set {TOKEN_ENV}"):
        connect(token)


def test_default_base_url_is_the_servers_url_of_the_spec() -> None:
    spec = yaml.safe_load(SPEC.read_text())
    assert spec["servers"][0]["url"] == DEFAULT_BASE_URL
    assert base_url_of(connect("tok-12345")) == DEFAULT_BASE_URL


@pytest.mark.parametrize("base_url", ["ftp://example.com", "example.com", "http://"])
def test_base_url_must_be_http(base_url: str) -> None:
    with pytest.raises(ValueError, match="must be an http:// or https:// URL"):
        connect("tok-12345", base_url)


def test_plain_http_to_a_remote_host_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="inference_api"):
        connect("tok-12345", "http://127.0.0.1:8000")
        connect("tok-12345", "http://localhost:8000")
        connect("tok-12345", "https://api.example.com")
    assert caplog.records == []
    with caplog.at_level(logging.WARNING, logger="inference_api"):
        connect("tok-12345", "http://api.example.com")
    assert "plain http" in caplog.text


def test_default_timeouts_connect_short_read_long_enough() -> None:
    timeout = connect("tok-12345").get_httpx_client().timeout
    assert timeout.connect == 5.0
    assert timeout.read == 30.0
    assert connect("tok-12345", timeout=2.5).get_httpx_client().timeout == httpx.Timeout(2.5)


def test_run_waits_longer_than_other_calls() -> None:
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"data": prediction_json(status="succeeded")})

    from inference_api import calls

    client = mock_client(handler, run_timeout=900.0)
    calls.get(client, "abc")
    calls.run(client, "mock/echo:" + "0" * 64, {"prompt": "hi"})
    assert seen[0]["read"] == 30.0
    # Cut to the time left before the run's total deadline (900 s from the call).
    assert {**seen[1], "read": None} == {"connect": 5.0, "read": None, "write": 30.0, "pool": 30.0}
    assert 800.0 < (seen[1]["read"] or 0.0) <= 900.0


def test_user_agent_names_the_sdk_python_and_httpx() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["user-agent"])
        return httpx.Response(200, json={"data": prediction_json()})

    from inference_api import calls

    calls.get(mock_client(handler), "abc")
    calls.get(mock_client(handler, user_agent="my-app/2.1"), "abc")
    assert re.fullmatch(r"inference-api/\S+ python/\d+\.\d+\.\d+ httpx/\d+\.\d+\.\d+", sent[0])
    version = importlib.metadata.version("inference-api")  # the installed distribution's, from pyproject.toml
    assert sent[0].startswith(f"inference-api/{version} python/{platform.python_version()} httpx/{httpx.__version__}")
    assert sent[1] == f"my-app/2.1 {sent[0]}"


def test_the_package_metadata_takes_its_version_from_the_sdk() -> None:
    import inference_api

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "extensions/inference_api/_version.py"
    assert inference_api.__version__ == importlib.metadata.version("inference-api")


def test_retries_setting() -> None:
    assert connect("tok-12345").retry == RetryPolicy()
    assert connect("tok-12345", retries=0).retry.max_attempts == 1
    assert connect("tok-12345", retries=5).retry.max_attempts == 6
    policy = RetryPolicy(max_attempts=2, max_retry_after=5)
    assert connect("tok-12345", retries=policy).retry is policy
    with pytest.raises(ValueError, match="whole number 0 or more"):
        connect("tok-12345", retries=-1)


def test_settings_survive_with_headers() -> None:
    client = connect("tok-12345", retries=7, run_timeout=42.0)
    derived = client.with_headers({"X-Trace": "1"})
    assert isinstance(derived, InferenceClient)
    assert derived.retry.max_attempts == 8
    assert derived.run_timeout == 42.0


def test_generated_endpoint_functions_accept_the_client() -> None:
    client = mock_client(lambda request: httpx.Response(200, json={"data": prediction_json()}))
    parsed = get_prediction.sync(prediction_id="abc", client=client)
    assert isinstance(parsed, PredictionResponse)
    assert parsed.data.id == "ujebapbbulzpx25442efjv4qba"


def test_fast_async_uses_the_aiohttp_transport_when_installed() -> None:
    from httpx_aiohttp import AiohttpTransport

    client = connect("tok-12345", BASE_URL, fast_async=True)
    async_client = client.get_async_httpx_client()
    assert isinstance(async_client._transport, AiohttpTransport)
    assert async_client.headers["authorization"] == "Bearer tok-12345"
    assert async_client.headers["user-agent"].startswith("inference-api/")
    assert async_client.timeout == client.get_httpx_client().timeout
    # The sync client keeps httpx's own transport.
    assert isinstance(client.get_httpx_client()._transport, httpx.HTTPTransport)
    anyio.run(async_client.aclose)


def test_default_transport_follows_the_measurement() -> None:
    from httpx_aiohttp import AiohttpTransport

    async_client = connect("tok-12345", BASE_URL).get_async_httpx_client()
    is_aiohttp = isinstance(async_client._transport, AiohttpTransport)
    assert is_aiohttp == connection.FAST_ASYNC_BY_DEFAULT
    anyio.run(async_client.aclose)


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_in_the_environment_keeps_httpx_transport_by_default(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    # httpx honours proxy variables; the aiohttp transport would silently bypass them.
    monkeypatch.setenv(variable, "http://proxy.test:3128")
    async_client = connect("tok-12345", BASE_URL).get_async_httpx_client()
    assert isinstance(async_client._transport, httpx.AsyncHTTPTransport)


def test_a_transport_of_the_callers_own_is_kept_by_default() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(204))
    async_client = connect("tok-12345", BASE_URL, httpx_args={"transport": transport}).get_async_httpx_client()
    assert async_client._transport is transport


def test_fast_async_false_keeps_httpx_transport() -> None:
    async_client = connect("tok-12345", BASE_URL, fast_async=False).get_async_httpx_client()
    assert isinstance(async_client._transport, httpx.AsyncHTTPTransport)


def test_without_httpx_aiohttp_connect_falls_back_silently(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)  # makes `import httpx_aiohttp` fail
    assert not connection.fast_async_available()
    with caplog.at_level(logging.WARNING, logger="inference_api"):
        default = connect("tok-12345", BASE_URL)
    assert caplog.records == []
    assert isinstance(default.get_async_httpx_client()._transport, httpx.AsyncHTTPTransport)
    with caplog.at_level(logging.WARNING, logger="inference_api"):
        asked = connect("tok-12345", BASE_URL, fast_async=True)
    assert "httpx-aiohttp is not installed" in caplog.text
    assert isinstance(asked.get_async_httpx_client()._transport, httpx.AsyncHTTPTransport)


def test_repr_never_shows_the_token() -> None:
    client = connect(TOKEN, BASE_URL)
    assert TOKEN not in repr(client)
    client.get_httpx_client()  # puts the Authorization header among the client's headers
    client.get_async_httpx_client()
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)
    assert TOKEN not in repr(client.get_httpx_client().headers)


def test_close_and_aclose_close_the_connection_pools() -> None:
    client = connect(TOKEN, BASE_URL, fast_async=False)
    client.close()  # nothing opened yet: nothing to do
    sync_pool = client.get_httpx_client()
    client.close()
    assert sync_pool.is_closed

    async def close_async() -> httpx.AsyncClient:
        async_pool = client.get_async_httpx_client()
        await client.aclose()
        return async_pool

    assert anyio.run(close_async).is_closed


@pytest.mark.parametrize("token", ["sec\x00ret-token", "secr\u00e9t-token", "sec ret-token", "sec\tret-token"])
def test_a_token_that_cannot_travel_in_a_header_is_refused_without_being_shown(token: str) -> None:
    # httpx would fail later, quoting the header value (the token) in its error, or with a raw
    # UnicodeEncodeError; a token with a space or tab inside is not one the server issued.
    with pytest.raises(ValueError, match="visible ASCII") as caught:
        connect(token, BASE_URL)
    assert "sec" not in str(caught.value)


@pytest.mark.parametrize("token", ["T", "tok", "seven77"])
def test_a_token_too_short_to_redact_safely_is_refused_without_being_shown(token: str) -> None:
    # Output is redacted of the token wherever it appears: `T` would turn "Test" into "[REDACTED]est".
    with pytest.raises(ValueError) as caught:
        connect(token, BASE_URL)
    assert str(caught.value) == (  # the same words for every token: nothing of it shown
        "the API token is too short: real tokens have at least 8 characters "
        "(a shorter one could not be redacted from output without altering it)"
    )
    assert connect("eight888", BASE_URL).token == "eight888"
