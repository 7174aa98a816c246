"""Helpers for the tests of calls, retries, errors, connect, files and security (not a test module)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import anyio
import httpx

from extensions import calls
from extensions._retry import RetryPolicy
from extensions.connection import InferenceClient, connect

# Distinctive, so that a leak shows up in any text it reaches.
TOKEN = "tok-SECRET-3f9a1c7e5b"
BASE_URL = "https://api.test"
VERSION = "5821a338d00033abaaba89080a17eb8783d9a17ed710a6b4246a18e0900ccad4"

Handler = Callable[[httpx.Request], httpx.Response]


def prediction_json(**overrides: Any) -> dict[str, Any]:
    """A prediction as the API sends it, inside no envelope."""
    prediction: dict[str, Any] = {
        "id": "ujebapbbulzpx25442efjv4qba",
        "version": VERSION,
        "status": "starting",
        "input": {"prompt": "hi"},
        "created_at": "2024-05-01T12:00:00+00:00",
        "urls": {
            "get": f"{BASE_URL}/v1/predictions/ujebapbbulzpx25442efjv4qba",
            "cancel": f"{BASE_URL}/v1/predictions/ujebapbbulzpx25442efjv4qba/cancel",
        },
    }
    prediction.update(overrides)
    return prediction


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
    """Call `extensions.calls.<name>` (mode "sync") or `async_<name>` in a fresh event loop (mode "async")."""
    if mode == "sync":
        return getattr(calls, name)(*args, **kwargs)
    return anyio.run(functools.partial(getattr(calls, f"async_{name}"), *args, **kwargs))


MODES = ("sync", "async")
