"""The hostile suite: small servers that misbehave on purpose, one per way a server can hurt a client.

Every test is bounded twice: by pytest-timeout (the `timeout` marker below) and from inside (the
harness gives up on a call HANG_MARGIN seconds past its deadline and fails naming it), so that a
regression fails instead of hanging CI. How far past their deadlines calls ended is printed at
the end of the run.
"""

from __future__ import annotations

import pytest

from tests.hostile import harness


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/hostile/" in item.nodeid and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(60))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not harness.overshoots:
        return
    worst: dict[str, tuple[float, str]] = {}
    for case, call, mode, overshoot in harness.overshoots:
        if case not in worst or overshoot > worst[case][0]:
            worst[case] = (overshoot, f"{call} ({mode})")
    terminalreporter.section("hostile servers: latest end past the deadline, per case")
    for case, (overshoot, which) in sorted(worst.items()):
        terminalreporter.write_line(f"{case:40} {overshoot:+.2f} s  {which}")
