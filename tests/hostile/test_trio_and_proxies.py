"""Issue 19, case 9: every async call under trio; proxies from the environment on every transport.

With the `fast` extra the default async transport was aiohttp's, which needs asyncio: every async
call under trio raised `RuntimeError: no running event loop`, and `async_batch` raised it even
without the extra. And `HTTP_PROXY` was ignored when `fast_async=True` was forced.

Now async calls under trio use httpx's own transport whatever `fast_async` says; `async_batch`
says in one line that it runs on asyncio only; proxies from the environment are honoured on the
aiohttp transport as httpx honours them (NO_PROXY included).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import trio

from inference_api import calls, files, streaming, waiting
from inference_api.batching import async_batch
from inference_api.connection import connect
from inference_api_mock.models import ECHO, LLAMA
from inference_api_mock.testing import MockServer
from tests.hostile import harness
from tests.hostile.answers import serve
from tests.hostile.harness import PREDICTION_ID, TOKEN
from tests.hostile.rawserver import Connection, RawServer


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    with MockServer((TOKEN,), speed=500.0) as server:
        yield server


@pytest.mark.parametrize("fast_async", [None, True, False])
def test_every_async_call_works_under_trio(fast_async: bool | None, mock: MockServer, tmp_path: Path) -> None:
    done: dict[str, Any] = {}

    async def everything(file_url: str) -> None:
        async with connect(TOKEN, mock.base_url, fast_async=fast_async) as client:
            created = await calls.async_create(client, LLAMA, {"prompt": "hi", "max_new_tokens": 8}, stream=True)
            done["create"] = created.status
            done["get"] = (await calls.async_get(client, created.id)).id
            async with streaming.async_stream_prediction(client, created) as text:
                done["stream_prediction"] = "".join([piece async for piece in text])
            done["wait"] = (await waiting.async_wait(client, created.id, timeout=30)).status
            done["cancel"] = (await calls.async_cancel(client, created.id)).status
            done["run"] = (await calls.async_run(client, ECHO, {"n": 1})).output
            async with streaming.async_stream(client, LLAMA, {"prompt": "hi", "max_new_tokens": 8}) as text:
                done["stream"] = "".join([piece async for piece in text])
            path = await files.async_download(file_url, tmp_path / "out.mp4", client=client)
            done["download"] = path.read_bytes()
            assert not isinstance(client.get_async_httpx_client()._transport, _aiohttp_transport_class())

    with serve(b"video") as file_server:
        trio.run(everything, f"{file_server.base_url}/files/out.mp4")
    assert done["create"] == "starting" and done["get"] and done["wait"] == "succeeded"
    assert done["stream_prediction"] and done["stream"] and done["run"] == {"n": 1}
    assert done["download"] == b"video"


def _aiohttp_transport_class() -> type:
    from httpx_aiohttp import AiohttpTransport

    return AiohttpTransport


def test_async_batch_under_trio_says_it_runs_on_asyncio(mock: MockServer) -> None:
    async def batch() -> None:
        client = connect(TOKEN, mock.base_url, fast_async=False)
        async with client, async_batch(client, ECHO, [{"n": 1}]) as results:
            [result async for result in results]

    with pytest.raises(RuntimeError, match=r"async_batch runs on asyncio only.*trio\.to_thread\.run_sync"):
        trio.run(batch)


def test_a_client_first_used_on_aiohttp_says_so_under_trio(mock: MockServer) -> None:
    client = connect(TOKEN, mock.base_url, fast_async=True)

    async def on_asyncio() -> None:
        await calls.async_run(client, ECHO, {"n": 1})

    async def on_trio() -> None:
        await calls.async_get(client, PREDICTION_ID)

    anyio.run(on_asyncio)
    with pytest.raises(RuntimeError, match="needs asyncio"):
        trio.run(on_trio)
    anyio.run(client.aclose)


# Proxies.

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def answering_proxy(connection: Connection) -> None:
    """A forward proxy that answers every request itself, with a prediction."""
    request = connection.request()
    body = json.dumps({"data": harness.prediction_json("http://api.invalid", status="succeeded")}).encode()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    connection.send(head.encode() + body)
    assert request.path.startswith("http://"), request.path


def get_in(mode: str, base_url: str) -> str:
    client = harness.client_for(mode, base_url, 10.0, retries=0)
    if mode == "sync":
        with client:
            return calls.get(client, PREDICTION_ID).id

    async def in_async() -> str:
        async with client:
            return (await calls.async_get(client, PREDICTION_ID)).id

    return anyio.run(in_async)


@pytest.mark.parametrize("mode", harness.MODES)
def test_a_proxy_in_the_environment_is_used_on_every_transport(
    mode: str, clean_environment: pytest.MonkeyPatch
) -> None:
    with RawServer(answering_proxy) as proxy:
        clean_environment.setenv("HTTP_PROXY", proxy.base_url)
        # A host nobody resolves: only the proxy can answer for it.
        assert get_in(mode, "http://api.invalid") == PREDICTION_ID
    assert [request.path for request in proxy.requests] == [f"http://api.invalid/v1/predictions/{PREDICTION_ID}"]
    assert proxy.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("mode", harness.MODES)
def test_no_proxy_is_honoured_on_every_transport(mode: str, clean_environment: pytest.MonkeyPatch) -> None:
    def api(connection: Connection) -> None:
        request = connection.request()
        body = harness.envelope(connection.server.base_url, status="succeeded")
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        connection.send(head.encode() + body)
        assert request.path.startswith("/")

    with RawServer(answering_proxy) as proxy, RawServer(api) as direct:
        clean_environment.setenv("HTTP_PROXY", proxy.base_url)
        clean_environment.setenv("NO_PROXY", "127.0.0.1")
        assert get_in(mode, direct.base_url) == PREDICTION_ID
    assert proxy.requests == []
    assert len(direct.requests) == 1
