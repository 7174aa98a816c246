import os

import pytest

pytest_plugins = [
    # The `mock_server` fixture: one mock server for the session, handed to each test clean.
    "inference_api_mock.pytest_plugin",
    # No hang outlives its test, nor the run.
    "tests.hangs",
]

# Live tests run only with --live, against these two variables: never because INFERENCE_API_TOKEN
# and INFERENCE_API_BASE_URL (what the CLI and connect() read) happen to be set (docs/development.md, "Live tests").
LIVE_BASE_URL_ENV = "INFERENCE_API_LIVE_BASE_URL"
LIVE_TOKEN_ENV = "INFERENCE_API_LIVE_TOKEN"
ORDINARY_ENV = ("INFERENCE_API_TOKEN", "INFERENCE_API_BASE_URL")


def pytest_configure(config: pytest.Config) -> None:
    # Before collection: no test (nor connect() inside one) can pick up a user's real credentials.
    # Tests that need these variables set them with monkeypatch.
    for name in ORDINARY_ENV:
        os.environ.pop(name, None)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("inference-api")
    group.addoption(
        "--live",
        action="store_true",
        help=f"also run the live tests against ${LIVE_BASE_URL_ENV} with ${LIVE_TOKEN_ENV}; "
        "they create real predictions on that account (docs/development.md, Live tests)",
    )
    group.addoption(
        "--st-max-examples",
        type=int,
        default=100,
        help="--max-examples of the contract tests' `st run` against the mock server (default: 100)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--live"):
        return
    skip = pytest.mark.skip(reason="live test: runs only with --live (docs/development.md, Live tests)")
    for item in items:
        if item.get_closest_marker("live"):
            item.add_marker(skip)


@pytest.fixture
def anyio_backend() -> str:
    # anyio's pytest plugin runs `@pytest.mark.anyio` tests; asyncio is the only loop we support.
    return "asyncio"
