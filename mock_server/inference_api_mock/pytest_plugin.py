"""A pytest plugin with a `mock_server` fixture, for your own tests.

Enable it with `pytest -p inference_api_mock.pytest_plugin`, or in a conftest.py:

    pytest_plugins = ["inference_api_mock.pytest_plugin"]

    def test_my_code(mock_server):
        client = AuthenticatedClient(base_url=mock_server.base_url, token=mock_server.token)
        mock_server.fault("POST /v1/run", status=503, retry_after="0")
        ...

One server runs for the whole session (`mock_server_session`, started on first use); the
function-scoped `mock_server` hands it out with an empty fault plan and request log, so faults and
recorded requests never leak from one test into the next (predictions do persist). To change how the
server starts, override the session-scoped `mock_server_options` fixture; its dict goes to
`inference_api_mock.testing.MockServer`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from inference_api_mock._extra import message, missing_dependency

try:
    from inference_api_mock.testing import MockServer
except ModuleNotFoundError as error:
    missing = missing_dependency(error)
    if missing is None:
        raise
    # A usage error is what pytest shows as one line, not a traceback.
    raise pytest.UsageError(message(missing, "inference_api_mock.pytest_plugin")) from None


@pytest.fixture(scope="session")
def mock_server_options() -> dict[str, Any]:
    """Keyword arguments of `MockServer` for the session's server."""
    return {"tokens": ("test-token",), "speed": 200.0, "faults": True}


@pytest.fixture(scope="session")
def mock_server_session(mock_server_options: dict[str, Any]) -> Iterator[MockServer]:
    with MockServer(**mock_server_options) as server:
        yield server


@pytest.fixture
def mock_server(mock_server_session: MockServer) -> Iterator[MockServer]:
    mock_server_session.clear_faults()
    mock_server_session.clear_requests()
    yield mock_server_session
    mock_server_session.clear_faults()
