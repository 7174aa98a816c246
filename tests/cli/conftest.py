"""The `cli` fixture of the command-line tests: `main()` against the session's mock server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from inference_api.cli import main
from inference_api_mock.testing import MockServer

Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(mock_server: MockServer, capsys: pytest.CaptureFixture[str]) -> Invoke:
    """Run the CLI against the mock server; returns (exit code, stdout, stderr)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--token", mock_server.token, "--base-url", mock_server.base_url, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
