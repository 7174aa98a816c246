import pytest


@pytest.fixture
def anyio_backend() -> str:
    # anyio's pytest plugin runs `@pytest.mark.anyio` tests; asyncio is the only loop we support.
    return "asyncio"
