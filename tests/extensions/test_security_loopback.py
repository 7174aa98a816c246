"""The token never leaves its origin, against the mock server over loopback.

127.0.0.1 and localhost reach the same server but are different origins: a client connected to
one must not send its token to the other, whatever URL the server hands out.
"""

from __future__ import annotations

import functools

import anyio
import httpx
import pytest

from inference_api import _http, calls
from inference_api.connection import InferenceClient
from inference_api.errors import AuthenticationError
from inference_api_mock.models import LLAMA
from inference_api_mock.testing import MockServer

from .calls_support import MODES, TOKEN, loopback_client


def open_and_close(mode: str, client: InferenceClient, url: str) -> int:
    """Open `url` as a stream through the request helper, as the streaming code does; its status."""
    request = {"method": "GET", "url": url}
    if mode == "sync":
        with _http.open_stream(client, request, idempotent=True) as response:
            return response.status_code

    async def go() -> int:
        try:
            async with _http.async_open_stream(client, request, idempotent=True) as response:
                return response.status_code
        finally:
            await client.get_async_httpx_client().aclose()

    return anyio.run(go)


def other_name(url: str) -> str:
    return url.replace("http://127.0.0.1:", "http://localhost:")


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_url_on_another_origin_gets_no_token(server: MockServer, mode: str) -> None:
    client = loopback_client(server, fast_async=mode == "async")
    prediction = calls.create(loopback_client(server), LLAMA, {"prompt": "hi", "max_new_tokens": 3}, stream=True)
    assert prediction.urls.stream
    server.clear_requests()
    assert open_and_close(mode, client, prediction.urls.stream) == 200
    with pytest.raises(AuthenticationError):
        open_and_close(mode, loopback_client(server, fast_async=mode == "async"), other_name(prediction.urls.stream))
    same, other = server.requests
    assert same.headers["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in other.headers
    assert other.path == same.path


@pytest.mark.parametrize("mode", MODES)
def test_a_client_on_localhost_keeps_its_token_from_127_0_0_1(server: MockServer, mode: str) -> None:
    def client() -> InferenceClient:
        # One per event loop: an async client's connections belong to the loop that opened them.
        return loopback_client(server, base_url=other_name(server.base_url), fast_async=mode == "async")

    if mode == "sync":
        prediction = calls.run(client(), LLAMA, {"prompt": "hi", "max_new_tokens": 2})
    else:
        prediction = anyio.run(
            functools.partial(calls.async_run, client(), LLAMA, {"prompt": "hi", "max_new_tokens": 2})
        )
    assert prediction.urls.get.startswith("http://localhost:")  # the server builds URLs from the request
    with pytest.raises(AuthenticationError):
        open_and_close(mode, client(), prediction.urls.get.replace("http://localhost:", "http://127.0.0.1:"))
    run_request, foreign = server.requests
    assert run_request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in foreign.headers


def test_plain_httpx_would_have_sent_it() -> None:
    # Why the helper matters: a client's default headers go to any absolute URL it is given.
    client = httpx.Client(base_url="http://127.0.0.1:1", headers={"Authorization": f"Bearer {TOKEN}"})
    assert client.build_request("GET", "http://localhost:1/x").headers["authorization"] == f"Bearer {TOKEN}"
    client.close()


@pytest.mark.parametrize("mode", ["sync", "async-httpx", "async-aiohttp"])
def test_a_token_quoted_by_an_httpx_error_is_neither_in_the_error_nor_its_cause(server: MockServer, mode: str) -> None:
    # A client built by hand skips connect()'s check of the token; h11 then refuses the header and
    # quotes its value, escaped, in its error.
    token = "tok\x00SECRET"
    client = InferenceClient(base_url=server.base_url, token=token, fast_async=mode == "async-aiohttp")
    call = functools.partial(calls.get, client, "abc")
    with pytest.raises(Exception) as caught:
        if mode == "sync":
            call()
        else:
            anyio.run(functools.partial(calls.async_get, client, "abc"))
    # Every exception a traceback would print.
    error: BaseException | None = caught.value
    while error is not None:
        assert "SECRET" not in str(error)
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
