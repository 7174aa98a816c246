"""Helpers for the tests of calls, retries, errors, connect, files and security (not a test module)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx

from inference_api import calls
from inference_api._retry import RetryPolicy
from inference_api.connection import InferenceClient, connect
from inference_api_mock.faults import RecordedRequest
from inference_api_mock.spec import load_spec
from inference_api_mock.testing import MockServer

# Distinctive, so that a leak shows up in any text it reaches.
TOKEN = "tok-SECRET-3f9a1c7e5b"
BASE_URL = "https://api.test"
VERSION = "5821a338d00033abaaba89080a17eb8783d9a17ed710a6b4246a18e0900ccad4"

Handler = Callable[[httpx.Request], httpx.Response]


def prediction_json(**overrides: Any) -> dict[str, Any]:
    """A prediction as the API sends it (every field, null while empty), inside no envelope.

    Shaped by openapi.yaml as the mock server's are: a field the spec gains is there (null or a
    default), one it drops is gone; `overrides` are kept as given.
    """
    prediction: dict[str, Any] = {
        "id": "ujebapbbulzpx25442efjv4qba",
        "model": "ali-vilab/i2vgen-xl",
        "version": VERSION,
        "status": "starting",
        "input": {"prompt": "hi"},
        "output": None,
        "error": None,
        "logs": "",
        "created_at": "2024-05-01T12:00:00+00:00",
        "started_at": None,
        "completed_at": None,
        "urls": {
            "get": f"{BASE_URL}/v1/predictions/ujebapbbulzpx25442efjv4qba",
            "cancel": f"{BASE_URL}/v1/predictions/ujebapbbulzpx25442efjv4qba/cancel",
        },
        "metrics": None,
    }
    return load_spec().shape("Prediction", prediction, every_property=True) | overrides


class Sleeps(list[float]):
    """Records the delays the retry loop asks for, instead of waiting."""

    def sleep(self, seconds: float) -> None:
        self.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.append(seconds)


def mock_client(
    handler: Handler, *, retries: RetryPolicy | int | None = None, sleeps: Sleeps | None = None, **kwargs: Any
) -> InferenceClient:
    """A connected client whose sync and async requests go to `handler` in-process."""
    sleeps = sleeps if sleeps is not None else Sleeps()
    return connect(
        TOKEN,
        BASE_URL,
        retries=retries,
        fast_async=False,
        httpx_args={"transport": httpx.MockTransport(handler)},
        sleep=sleeps.sleep,
        async_sleep=sleeps.async_sleep,
        **kwargs,
    )


def invoke(mode: str, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call `inference_api.calls.<name>` (mode "sync") or `async_<name>` in a fresh event loop (mode "async")."""
    if mode == "sync":
        return getattr(calls, name)(*args, **kwargs)
    return anyio.run(functools.partial(getattr(calls, f"async_{name}"), *args, **kwargs))


MODES = ("sync", "async")


# Loopback: the real mock server under uvicorn.


def start_server(speed: float = 1000.0) -> Iterator[MockServer]:
    """Body of a module-scoped fixture: a mock server with fault plans, accepting TOKEN."""
    with MockServer(tokens=(TOKEN,), speed=speed, faults=True) as server:
        yield server


def fresh(server: MockServer) -> MockServer:
    """The server with an empty fault plan and request log."""
    server.clear_faults()
    server.clear_requests()
    return server


def loopback_client(
    server: MockServer,
    *,
    sleeps: Sleeps | None = None,
    base_url: str | None = None,
    token: str = TOKEN,
    **kwargs: Any,
) -> InferenceClient:
    """A connected client for the mock server; `sleeps` records retry delays instead of waiting."""
    sleeps = sleeps if sleeps is not None else Sleeps()
    return connect(token, base_url or server.base_url, sleep=sleeps.sleep, async_sleep=sleeps.async_sleep, **kwargs)


def requests_to(server: MockServer, method: str, path_prefix: str) -> list[RecordedRequest]:
    return [r for r in server.requests if r.method == method and r.path.startswith(path_prefix)]


# Sync, async on httpx's own transport, async on the aiohttp transport.
LOOPBACK_MODES = ("sync", "async-httpx", "async-aiohttp")


class Caller:
    """Calls `inference_api.calls` in one of LOOPBACK_MODES against the mock server.

    Async calls get a client of their own in a fresh event loop, closed afterwards: an async
    client's connections belong to the loop that opened them.
    """

    def __init__(self, mode: str, server: MockServer, **client_kwargs: Any) -> None:
        self.mode = mode
        self.server = server
        self.sleeps = Sleeps()
        self.client_kwargs = client_kwargs
        self.client = self.new_client()

    def new_client(self) -> InferenceClient:
        fast_async = self.mode == "async-aiohttp"
        return loopback_client(self.server, sleeps=self.sleeps, fast_async=fast_async, **self.client_kwargs)

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.mode == "sync":
            return getattr(calls, name)(self.client, *args, **kwargs)

        async def call_async() -> Any:
            client = self.new_client()
            try:
                return await getattr(calls, f"async_{name}")(client, *args, **kwargs)
            finally:
                await client.get_async_httpx_client().aclose()

        return anyio.run(call_async)
