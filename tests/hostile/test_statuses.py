"""Case 7: a status the spec does not know cannot keep `wait` polling until its deadline.

A status that is not a string (`null`, `7`) is an unreadable answer: `APIResponseError` from every
call. A string status this SDK does not know is taken as a new, unfinished stage (`queued`), unless
its name says the prediction ended (`completed`, `Succeeded`, `errored`): then `wait` stops with
an `APIResponseError` that says so, instead of polling to its deadline.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from inference_api.errors import APIResponseError, WaitTimeoutError
from tests.hostile import harness
from tests.hostile.rawserver import Connection, Handler

WAIT_TIMEOUT = 20.0  # far longer than these tests take, unless a wait polls to its deadline


def answering(*statuses: Any) -> Handler:
    """Predictions with these statuses, one per request, the last one from then on; no stream URL."""
    sequence = itertools.chain(statuses, itertools.repeat(statuses[-1]))

    def handle(connection: Connection) -> None:
        connection.request()
        data = harness.prediction_json(connection.server.base_url, status=next(sequence))
        del data["urls"]["stream"]
        body = json.dumps({"data": data}).encode()
        # One request per connection, and said so: a client that reused a connection the server had
        # just closed would see a reset, and a create is not sent twice.
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        connection.send(head.encode() + body)

    return handle


@pytest.mark.parametrize("status", [None, 7, {"state": "done"}, ["succeeded"]], ids=["null", "7", "object", "list"])
def test_a_status_that_is_not_a_string_is_a_response_error(status: Any, tmp_path: Path) -> None:
    results = harness.run_everywhere(
        {"status": answering(status)}, tmp_path, deadline=WAIT_TIMEOUT, names=("get", "create", "cancel", "wait")
    )
    for (_, mode), outcomes in results.items():
        for outcome in outcomes:
            assert isinstance(outcome.error, APIResponseError), (outcome.call, mode, outcome.error)
            assert "status is" in str(outcome.error) and "not a string" in str(outcome.error)


@pytest.mark.parametrize("status", ["completed", "Succeeded", "errored", "timed_out", "CANCELLED"])
def test_wait_stops_at_a_final_looking_status_it_does_not_know(status: str, tmp_path: Path) -> None:
    results = harness.run_everywhere(
        {"status": answering(status)}, tmp_path, deadline=WAIT_TIMEOUT, names=("get", "wait")
    )
    for (_, mode), (get, wait) in results.items():
        assert get.error is None and get.result.status == status, "get returns it as it is"
        assert isinstance(wait.error, APIResponseError), (mode, wait.error)
        assert not isinstance(wait.error, WaitTimeoutError)
        assert f"has status {status!r}, which this SDK does not know but which looks final" in str(wait.error)


@pytest.mark.parametrize("mode", harness.MODES)
def test_a_new_unfinished_status_is_waited_through(mode: str, tmp_path: Path) -> None:
    server = answering("queued", "warming_up", "succeeded")
    results = harness.run_everywhere(
        {"status": server}, tmp_path, deadline=WAIT_TIMEOUT, modes=(mode,), names=("wait",)
    )
    ((wait,),) = results.values()
    assert wait.error is None, wait.error
    assert wait.result.status == "succeeded"
