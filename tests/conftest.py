import pytest

# The `mock_server` fixture: one mock server for the session, handed to each test clean.
pytest_plugins = ["mock_server.pytest_plugin"]


@pytest.fixture
def anyio_backend() -> str:
    # anyio's pytest plugin runs `@pytest.mark.anyio` tests; asyncio is the only loop we support.
    return "asyncio"
