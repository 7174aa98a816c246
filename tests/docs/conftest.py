"""Files the docs tests keep (the screenshot of the rendered reference), named at the end of the run."""

from __future__ import annotations

from pathlib import Path

import pytest

KEPT: list[Path] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for path in KEPT:
        terminalreporter.write_line(f"kept: {path}")
