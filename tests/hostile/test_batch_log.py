"""Issue 19, case 11: the batch logger quoted the start of a cut results line, unredacted.

A results file whose last line was cut short (a crash mid-write) holds a model's output, which may
quote the token: the warning that drops the line used to quote its first 80 characters, cut
through the token where it sat across the 80th. It now says how long the line was, and the batch
logger's records are redacted like the SDK's others.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from inference_api.batching import batch
from inference_api.connection import connect
from inference_api_mock.models import ECHO
from inference_api_mock.testing import MockServer
from tests.hostile.harness import TOKEN
from tests.hostile.leaks import SPELLINGS, leaked, logged


@pytest.mark.parametrize("spelling", ["as is", "upper"])
@pytest.mark.parametrize("offset", [0, 60, 70])
def test_a_cut_results_line_is_not_quoted(
    spelling: str, offset: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    output = tmp_path / "results.jsonl"
    prefix = '{"index": 0, "status": "succeeded", "output": "'
    cut = (prefix + "x" * offset)[:offset] + SPELLINGS[spelling](TOKEN) + " and more output"
    output.write_text(cut)  # no line break: the write was cut short
    with MockServer((TOKEN,)) as server:
        client = connect(TOKEN, server.base_url, fast_async=False)
        results = list(batch(client, ECHO, [{"n": 1}], output=output))
    assert [result.status for result in results] == ["succeeded"]
    warnings = [record for record in caplog.records if "cut short" in record.getMessage()]
    assert len(warnings) == 1, logged(caplog.records)
    assert f"({len(cut)} bytes)" in warnings[0].getMessage()
    assert leaked(logged(caplog.records)) is None, logged(caplog.records)
