"""Every conformance case, fed as written, one byte at a time and split in two at every offset."""

from __future__ import annotations

import pytest

from inference_api.sse import iter_events
from tests.sse.conformance_cases import CASES, Case

pytestmark = pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])


def test_case_as_chunked(case: Case) -> None:
    assert list(iter_events(case.chunks)) == list(case.expected), case.rule


def test_case_one_byte_at_a_time(case: Case) -> None:
    stream = b"".join(case.chunks)
    assert list(iter_events(stream[i : i + 1] for i in range(len(stream)))) == list(case.expected), case.rule


def test_case_split_at_every_offset(case: Case) -> None:
    stream = b"".join(case.chunks)
    for offset in range(len(stream) + 1):
        events = list(iter_events([stream[:offset], stream[offset:]]))
        assert events == list(case.expected), f"split at {offset}: {case.rule}"
