"""Fixtures of the loopback tests: one mock server per module, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inference_api_mock.testing import MockServer

from .calls_support import fresh, start_server


@pytest.fixture(scope="module")
def module_server() -> Iterator[MockServer]:
    yield from start_server()


@pytest.fixture
def server(module_server: MockServer) -> MockServer:
    return fresh(module_server)
