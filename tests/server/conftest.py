"""Fixtures for the mock server's own tests: one real server on loopback for the session."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from httpx_sse import EventSource, ServerSentEvent

from inference_api_mock.models import ECHO
from inference_api_mock.spec import load_spec
from inference_api_mock.testing import MockServer

TOKEN = "token-alpha"
OTHER_TOKEN = "token-bravo"
FINAL = {"succeeded", "failed", "canceled"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def version_of(ref: str) -> str:
    return ref.split(":", 1)[1]


@pytest.fixture(scope="session")
def server() -> Iterator[MockServer]:
    with MockServer(tokens=(TOKEN, OTHER_TOKEN), speed=500.0, faults=True) as running:
        yield running


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    server.clear_faults()
    with httpx.Client(base_url=server.base_url, headers=bearer(TOKEN), timeout=10.0) as http:
        yield http
    server.clear_faults()


def assert_documented(component: str, body: Any) -> None:
    """The body matches `#/components/schemas/<component>` of openapi.yaml."""
    issues = load_spec().check_component(component, body)
    assert issues == [], issues


def create(client: httpx.Client, ref: str = ECHO, values: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/predictions", json={"version": version_of(ref), "input": values or {}, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert_documented("PredictionResponse", body)
    data: dict[str, Any] = body["data"]
    return data


def wait_final(client: httpx.Client, prediction_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/v1/predictions/{prediction_id}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        if data["status"] in FINAL:
            return data
        assert time.monotonic() < deadline, f"prediction still {data['status']}"
        time.sleep(0.01)


def events_of(response: httpx.Response) -> list[ServerSentEvent]:
    assert response.status_code == 200, response.read()
    assert response.headers["content-type"].startswith("text/event-stream")
    return list(EventSource(response).iter_sse())


def stream_events(client: httpx.Client, method: str, url: str, **kwargs: Any) -> list[ServerSentEvent]:
    with client.stream(method, url, **kwargs) as response:
        return events_of(response)
