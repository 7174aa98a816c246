"""capture_responses() gives every call's HTTP response; with_options() sets one call's timeout, retries and
headers; INFERENCE_API_LOG turns the SDK's log on. Against the mock server (and a silent one) over loopback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inference_api import (
    APITimeoutError,
    NotFoundError,
    RateLimitError,
    async_cancel,
    async_create,
    async_download,
    async_get,
    async_run,
    async_stream,
    async_wait,
    cancel,
    capture_responses,
    connect,
    create,
    download,
    get,
    run,
    stream,
    wait,
)
from inference_api_mock.models import ECHO, LLAMA
from inference_api_mock.testing import MockServer
from tests.hostile.answers import silent
from tests.hostile.rawserver import Connection, RawServer

ROOT = Path(__file__).resolve().parents[2]


def test_every_sync_call_gives_the_response_it_ended_on(server: MockServer, tmp_path: Path) -> None:
    with connect(server.token, server.base_url) as client:
        with capture_responses() as responses:
            created = create(client, ECHO, {"n": 1})
        assert (responses.last.method, responses.last.status_code) == ("POST", 201)
        assert responses.last.request_id and responses.last.request_id == responses.last.headers["x-request-id"]
        assert responses.last.json()["data"]["id"] == created.id  # the body of a non-streamed call

        for call, method in ((get, "GET"), (cancel, "POST")):
            with capture_responses() as responses:
                call(client, created.id)
            assert (responses.last.method, responses.last.status_code) == (method, 200), call
            assert created.id in responses.last.url

        with capture_responses() as responses:
            waited = wait(client, created.id, timeout=30)
        assert responses.last.json()["data"]["status"] == str(waited.status)

        with capture_responses() as responses:
            run(client, ECHO, {"n": 2})
        assert responses.last.url.endswith("/v1/run") and responses.last.status_code in (200, 201)

        with capture_responses() as responses:
            text = "".join(stream(client, LLAMA, {"prompt": "hi"}))
        assert text and responses.last.headers["content-type"].startswith("text/event-stream")
        assert responses.last.content is None  # streamed: the call consumed the body

        url = f"{server.base_url}/files/{created.id}.mp4"  # no video for an echo prediction: 404
        with capture_responses() as responses, pytest.raises(NotFoundError) as caught:
            download(url, tmp_path / "out.bin", client=client)
        assert responses.last.method == "GET" and responses.last.url == url
        assert caught.value.response == responses.last


def test_retried_responses_are_all_recorded_and_the_last_is_the_answer(server: MockServer) -> None:
    server.fault("GET /v1/predictions/{prediction_id}", status=503, retry_after="0")
    with connect(server.token, server.base_url, sleep=lambda _: None) as client:
        created = create(client, ECHO, {"n": 1})
        with capture_responses() as responses:
            get(client, created.id)
    assert [response.status_code for response in responses.responses] == [503, 200]
    assert responses.last.status_code == 200


def test_errors_carry_their_response(server: MockServer) -> None:
    server.fault("POST /v1/predictions", status=429, retry_after="7", times=3)
    with connect(server.token, server.base_url, retries=0) as client, pytest.raises(RateLimitError) as caught:
        create(client, ECHO, {"n": 1})
    response = caught.value.response
    assert response is not None and response.status_code == 429
    assert response.headers["retry-after"] == "7" and response.request_id == caught.value.request_id
    assert response.content is not None and len(response.content) <= 64 * 1024


def test_the_token_is_taken_out_of_captured_responses() -> None:
    token = "r8_CapturedSecret_0123456789"

    def echo_token(connection: Connection) -> None:
        connection.request()
        body = b'{"detail": "bad token ' + token.encode() + b'"}'
        head = f"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nX-Echo: {token}\r\n"
        connection.send(head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)

    with (
        RawServer(echo_token) as raw,
        connect(token, raw.base_url, retries=0) as client,
        capture_responses() as responses,
        pytest.raises(NotFoundError) as caught,
    ):
        get(client, "abc")
    for response in (responses.last, caught.value.response):
        assert response is not None
        assert token not in repr(response) and token not in response.text
        assert token not in str(response.headers) and token not in response.headers["x-echo"]


def test_every_async_call_gives_its_response(server: MockServer, tmp_path: Path) -> None:
    async def main() -> list[tuple[str, int]]:
        seen: list[tuple[str, int]] = []
        async with connect(server.token, server.base_url) as client:
            with capture_responses() as responses:
                created = await async_create(client, ECHO, {"n": 1})
                seen.append((responses.last.method, responses.last.status_code))
                await async_get(client, created.id)
                seen.append((responses.last.method, responses.last.status_code))
                await async_wait(client, created.id, timeout=30)
                seen.append((responses.last.method, responses.last.status_code))
                await async_cancel(client, created.id)
                seen.append((responses.last.method, responses.last.status_code))
                await async_run(client, ECHO, {"n": 2})
                seen.append((responses.last.method, responses.last.status_code))
                async for _ in async_stream(client, LLAMA, {"prompt": "hi"}):
                    pass
                seen.append((responses.last.method, responses.last.status_code))
                with pytest.raises(NotFoundError):
                    await async_download(f"{server.base_url}/files/none.mp4", tmp_path / "x", client=client)
                seen.append((responses.last.method, responses.last.status_code))
        return seen

    seen = asyncio.run(main())
    assert [method for method, _ in seen] == ["POST", "GET", "GET", "POST", "POST", "POST", "GET"]
    assert seen[-1][1] == 404 and all(status < 300 for _, status in seen[:-1])


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_per_call_timeout_ends_a_call_to_a_silent_server_while_the_default_stays(mode: str) -> None:
    with RawServer(silent) as raw:
        client = connect("r8_token_for_options", raw.base_url, retries=0, fast_async=False)
        assert client.call_timeout == 120.0
        quick = client.with_options(timeout=0.5)
        assert (quick.call_timeout, client.call_timeout) == (0.5, 120.0)
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            if mode == "sync":
                get(quick, "abc")
            else:
                asyncio.run(async_get(quick, "abc"))
        # Bounded generously: a loaded machine may be slow, but not 120 s (the client's default).
        assert time.monotonic() - started < 60
        client.close()


def test_with_options_sets_retries_and_headers_for_its_calls_only(server: MockServer) -> None:
    server.fault("GET /v1/predictions/{prediction_id}", status=503, retry_after="0", times=2)
    with connect(server.token, server.base_url, sleep=lambda _: None) as client:
        created = create(client, ECHO, {"n": 1})
        server.clear_requests()
        with pytest.raises(Exception, match="503"):
            get(client.with_options(retries=0, headers={"X-Trace": "abc"}), created.id)
        sent = server.requests
        assert len(sent) == 1 and sent[0].headers.get("x-trace") == "abc"
        # The parent is unchanged: it retries, and sends no extra header.
        server.clear_requests()
        get(client, created.id)
        assert all("x-trace" not in request.headers for request in server.requests)
        assert len(server.requests) == 2  # one more 503, then the answer
        # The view shares its parent's connection pool.
        view = client.with_options(read_timeout=5)
        assert view.get_httpx_client() is client.get_httpx_client()
        with pytest.raises(ValueError, match="Authorization"):
            client.with_options(headers={"authorization": "Bearer other"})
        with pytest.raises(ValueError, match="timeout"):
            client.with_options(timeout=0)


def test_the_debug_switch_prints_redacted_request_lines(server: MockServer) -> None:
    script = (
        "from inference_api import connect, create\n"
        "from inference_api_mock.models import ECHO\n"
        f"with connect({server.token!r}, {server.base_url!r}) as client:\n"
        "    create(client, ECHO, {'n': 1})\n"
    )
    environment = {**os.environ, "INFERENCE_API_LOG": "debug"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "POST" in result.stderr and "/v1/predictions -> 201" in result.stderr, result.stderr
    assert server.token not in result.stderr
    quiet = subprocess.run(
        [sys.executable, "-c", script],
        env={key: value for key, value in os.environ.items() if key != "INFERENCE_API_LOG"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert quiet.returncode == 0 and quiet.stderr == ""
