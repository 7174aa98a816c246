"""batch / async_batch against the mock server over loopback.

The session's fast server (speed 200: an echo prediction is done in milliseconds) for most, and a
slow one (speed 10: a chat prediction of 200 tokens runs about a second) for what must happen
while predictions are still running: stop, resume, cancel.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inference_api import AsyncBatch, BatchResult, async_batch, batch, connect, get
from inference_api.batching import InvalidResultsFile, ResultsMismatch
from inference_api.connection import InferenceClient
from inference_api_client import AuthenticatedClient
from inference_api_mock.models import ECHO, FAIL, FAIL_MESSAGE, LLAMA
from inference_api_mock.testing import MockServer
from tests.interrupts import ctrl_c_after

CREATE = "POST /v1/predictions"
GET = "GET /v1/predictions/{prediction_id}"
SLOW_INPUT = {"prompt": "Tell me a story", "max_new_tokens": 200, "min_new_tokens": 200}  # ~1 s at speed 10


@pytest.fixture(scope="module")
def slow_server() -> Iterator[MockServer]:
    with MockServer(tokens=("test-token",), speed=10.0, faults=True) as server:
        yield server


@pytest.fixture
def slow(slow_server: MockServer) -> Iterator[MockServer]:
    slow_server.clear_faults()
    slow_server.clear_requests()
    yield slow_server
    slow_server.clear_faults()


def client_of(server: MockServer) -> InferenceClient:
    return connect(server.token, server.base_url)


def creates(server: MockServer) -> int:
    return sum(1 for request in server.requests if request.method == "POST" and request.path == "/v1/predictions")


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def echo_inputs(count: int) -> list[dict[str, int]]:
    return [{"n": n} for n in range(count)]


# --- results --------------------------------------------------------------------------------------


def test_every_input_gives_one_result_with_its_index_id_status_and_output(mock_server: MockServer) -> None:
    results = list(batch(client_of(mock_server), ECHO, echo_inputs(150), concurrency=20))
    assert sorted(result.index for result in results) == list(range(150))
    assert all(result.status == "succeeded" and result.output == {"n": result.index} for result in results)
    assert len({result.id for result in results}) == 150
    assert all(result.prediction is not None and result.prediction.id == result.id for result in results)
    assert creates(mock_server) == 150


def test_failed_predictions_and_bad_inputs_are_results_and_the_batch_goes_on(mock_server: MockServer) -> None:
    client = client_of(mock_server)
    inputs: list[Any] = [{"n": 0}, [1, 2], {"n": 2}]
    results = sorted(batch(client, ECHO, inputs, concurrency=4), key=lambda result: result.index)
    assert [result.status for result in results] == ["succeeded", "error", "succeeded"]
    assert results[1].id is None and "not list" in (results[1].error or "")
    failed = list(batch(client, FAIL, [{"a": 1}, {"a": 2}]))
    assert [(result.status, result.error) for result in failed] == [("failed", FAIL_MESSAGE)] * 2
    assert all(result.id for result in failed)


def test_ordered_results_come_in_input_order(mock_server: MockServer) -> None:
    results = list(batch(client_of(mock_server), ECHO, echo_inputs(120), concurrency=16, ordered=True))
    assert [result.index for result in results] == list(range(120))


@pytest.mark.anyio
async def test_async_batch_gives_the_same_results(mock_server: MockServer) -> None:
    async def inputs() -> Any:
        for n in range(60):
            yield {"n": n}

    async with (
        connect(mock_server.token, mock_server.base_url) as client,
        async_batch(client, ECHO, inputs(), concurrency=10, ordered=True) as results,
    ):
        seen = [result async for result in results]
    assert [(result.index, result.output) for result in seen] == [(n, {"n": n}) for n in range(60)]
    assert results.completed and not results.stopped


@pytest.mark.anyio
async def test_async_batch_must_be_entered_before_iterating(mock_server: MockServer) -> None:
    engine = async_batch(client_of(mock_server), ECHO, [{"n": 1}])
    with pytest.raises(RuntimeError, match="async with"):
        await engine.__anext__()


def test_inputs_are_read_lazily(mock_server: MockServer) -> None:
    pulled = 0

    def inputs() -> Iterator[dict[str, int]]:
        nonlocal pulled
        for n in range(100_000):
            pulled += 1
            yield {"n": n}

    with batch(client_of(mock_server), ECHO, inputs(), concurrency=4) as results:
        received = [next(results) for _ in range(10)]
    # In flight, and waiting in the result buffer (one slot each): a few times the concurrency.
    assert len(received) == 10 and pulled <= 10 + 2 * 4 + 1


def test_a_plain_authenticated_client_works_and_is_left_untouched(mock_server: MockServer) -> None:
    client = AuthenticatedClient(base_url=mock_server.base_url, token=mock_server.token)
    results = list(batch(client, ECHO, echo_inputs(5)))
    assert len(results) == 5 and all(result.succeeded for result in results)
    assert client._async_client is None, "the batch uses a client of its own"


def test_bad_arguments_are_refused_before_anything_runs(mock_server: MockServer) -> None:
    client = client_of(mock_server)
    with pytest.raises(TypeError, match=r"pathlib\.Path"):
        batch(client, ECHO, "inputs.jsonl")
    for concurrency in (0, -3, True):
        with pytest.raises(ValueError, match="concurrency"):
            batch(client, ECHO, [], concurrency=concurrency)
    assert list(batch(client, ECHO, [])) == []


# --- errors and rate limits -----------------------------------------------------------------------


def test_429s_on_create_are_retried_once_each_and_the_batch_slows_down(mock_server: MockServer) -> None:
    mock_server.fault(CREATE, status=429, retry_after="0", times=12)
    engine = batch(client_of(mock_server), ECHO, echo_inputs(100), concurrency=50)
    results = list(engine)
    assert sorted(result.index for result in results) == list(range(100))
    assert all(result.succeeded for result in results)
    assert creates(mock_server) == 112, "one more create per 429, never more"
    assert engine.stats.rate_limited == 12


def test_retry_after_pauses_every_new_request(mock_server: MockServer) -> None:
    mock_server.fault(CREATE, status=429, retry_after="1", times=1)
    started = time.monotonic()
    results = list(batch(client_of(mock_server), ECHO, echo_inputs(3), concurrency=1))
    # A lower bound: the retry waited for the server's Retry-After (a noisy machine only adds to it).
    assert time.monotonic() - started >= 0.95
    assert all(result.succeeded for result in results) and creates(mock_server) == 4


def test_429s_limit_the_creates_sent_at_once_not_the_predictions_running(slow: MockServer) -> None:
    # Refusals halve how many creates go out at once; predictions already created keep running
    # side by side up to `concurrency`. When the limit counted predictions in progress, at most 4
    # of these ran at once; now all 10 do.
    slow.fault(CREATE, status=429, times=12)  # no Retry-After
    long_input = {**SLOW_INPUT, "max_new_tokens": 400, "min_new_tokens": 400}  # ~2 s each
    results = list(batch(client_of(slow), LLAMA, [long_input] * 10, concurrency=10))
    assert len(results) == 10 and all(result.succeeded for result in results)
    spans = [
        (result.prediction.created_at, result.prediction.completed_at)
        for result in results
        if result.prediction is not None and result.prediction.completed_at is not None
    ]
    assert len(spans) == 10
    most_running = max(sum(start <= moment < end for start, end in spans) for moment, _ in spans)
    assert most_running >= 7, f"at most {most_running} predictions ran at once"


def test_429s_on_polls_slow_the_batch_without_creating_again(mock_server: MockServer) -> None:
    mock_server.fault(GET, status=429, retry_after="0", times=25)
    engine = batch(client_of(mock_server), ECHO, echo_inputs(40), concurrency=10)
    results = list(engine)
    assert len(results) == 40 and all(result.succeeded for result in results)
    assert creates(mock_server) == 40
    assert engine.stats.rate_limited == 25


def test_an_input_rate_limited_too_often_is_given_up(mock_server: MockServer) -> None:
    mock_server.fault(CREATE, status=429, retry_after="0", times=1000)
    [result] = list(batch(client_of(mock_server), ECHO, [{"n": 1}]))
    assert result.status == "error" and result.id is None
    assert "429" in (result.error or "") and "rate limited 20 times" in (result.error or "")


def test_errors_once_retries_are_spent_are_recorded_for_that_input(mock_server: MockServer) -> None:
    client = client_of(mock_server)
    mock_server.fault(CREATE, status=500, times=1)  # a create is not retried on 500: it may exist
    results = sorted(batch(client, ECHO, echo_inputs(5), concurrency=1), key=lambda result: result.index)
    assert [result.status for result in results] == ["error", "succeeded", "succeeded", "succeeded", "succeeded"]
    assert results[0].id is None and "ServerError: 500" in (results[0].error or "")
    mock_server.clear_requests()
    mock_server.fault(GET, status=503, retry_after="0", times=2)  # polls are retried by the policy
    assert all(result.succeeded for result in batch(client, ECHO, echo_inputs(3), concurrency=1))
    mock_server.fault(GET, status=503, retry_after="0", times=100)
    [gave_up] = list(batch(client, ECHO, [{"n": 9}]))
    assert gave_up.status == "error" and gave_up.id is not None and "ServerError: 503" in (gave_up.error or "")


# --- results file: checkpoint and resume ------------------------------------------------------------


def test_the_results_file_holds_one_final_line_per_input_in_input_order(
    mock_server: MockServer, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    list(batch(client_of(mock_server), ECHO, echo_inputs(80), concurrency=16, output=output))
    lines = lines_of(output)
    assert [line["index"] for line in lines] == list(range(80))
    keys = {"index", "id", "status", "output", "error", "retryable", "model", "input_hash"}
    assert all(set(line) == keys and line["model"] == ECHO for line in lines)
    assert len({line["input_hash"] for line in lines}) == 80, "each input its own fingerprint"
    assert all(line["status"] == "succeeded" and line["output"] == {"n": line["index"]} for line in lines)
    mock_server.clear_requests()
    again = batch(client_of(mock_server), ECHO, echo_inputs(80), output=output)
    assert list(again) == [] and again.stats.previously_done == 80
    assert mock_server.requests == [], "nothing is redone"


def test_ids_are_written_when_created_and_a_stopped_batch_resumes_without_creating_twice(
    slow: MockServer, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    client = client_of(slow)
    inputs = [SLOW_INPUT | {"prompt": f"story {n}"} for n in range(30)]
    with batch(client, LLAMA, inputs, concurrency=8, output=output) as first:
        next(first)  # once one is done, several others are running
        first.stop()
        rest = list(first)
    assert first.stopped and not first.completed
    lines = lines_of(output)
    created_ids = {line["id"] for line in lines}
    finished = {line["index"] for line in lines if line["status"] == "succeeded"}
    running = {line["index"]: line["id"] for line in lines if line["status"] in ("starting", "processing")}
    assert len(created_ids) == creates(slow), "every prediction created has its line"
    assert len(finished) == 1 + len(rest) and set(running) - finished, "some were still running"

    second = batch(client, LLAMA, inputs, concurrency=8, output=output)
    results = list(second)
    assert creates(slow) == 30, "running predictions were re-attached by id, not created again"
    assert second.stats.reattached == len(set(running) - finished)
    assert {result.index for result in results} == set(range(30)) - finished
    reattached = {result.index: result.id for result in results if result.index in running}
    assert reattached == {index: running[index] for index in reattached}
    final = lines_of(output)
    assert [line["index"] for line in final] == list(range(30)) and {line["status"] for line in final} == {"succeeded"}


def test_leaving_the_with_block_stops_at_once_and_records_every_create(slow: MockServer, tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    inputs = [SLOW_INPUT] * 50
    with batch(client_of(slow), LLAMA, inputs, concurrency=10, output=output) as results:
        next(results)
    lines = lines_of(output)
    assert len({line["id"] for line in lines}) == creates(slow) < 50, "no create after the stop"
    unfinished = [line for line in lines if line["status"] != "succeeded"]
    assert unfinished, "predictions still running were left running, their ids recorded"
    assert all(get(client_of(slow), line["id"]).status != "canceled" for line in unfinished)


def test_cancel_on_stop_cancels_what_the_stop_leaves_running(slow: MockServer) -> None:
    client = client_of(slow)
    ids: list[str] = []
    with batch(client, LLAMA, [SLOW_INPUT] * 6, concurrency=6, cancel_on_stop=True) as results:
        while len(ids) < 6:
            ids = [request.path for request in slow.requests if request.method == "GET"]
            time.sleep(0.01)
        results.stop()
        canceled = list(results)
    assert [result.status for result in canceled] == ["canceled"] * 6
    assert all(get(client, result.id or "").status == "canceled" for result in canceled)


def test_a_last_line_cut_short_by_a_crash_is_dropped(mock_server: MockServer, tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    list(batch(client_of(mock_server), ECHO, echo_inputs(3), output=output))
    whole = output.read_bytes()
    output.write_bytes(whole + b'{"index": 3, "id": "abc", "sta')
    mock_server.clear_requests()
    results = list(batch(client_of(mock_server), ECHO, echo_inputs(5), output=output))
    assert sorted(result.index for result in results) == [3, 4]
    assert [line["index"] for line in lines_of(output)] == [0, 1, 2, 3, 4]


def test_a_line_that_is_not_a_record_stops_the_batch_before_anything_is_sent(
    mock_server: MockServer, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    output.write_text('{"index": 0, "id": null, "status": "error", "output": null, "error": "x"}\nhello\n{}\n')
    before = output.read_bytes()
    with pytest.raises(InvalidResultsFile, match="line 2 is not JSON"):
        list(batch(client_of(mock_server), ECHO, echo_inputs(3), output=output))
    assert output.read_bytes() == before and mock_server.requests == []


def test_two_batches_cannot_write_one_results_file(slow: MockServer, tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    with batch(client_of(slow), LLAMA, [SLOW_INPUT] * 4, output=output) as first:
        ready = threading.Event()
        errors: list[BaseException] = []

        def second() -> None:
            ready.wait()
            try:
                list(batch(client_of(slow), LLAMA, [SLOW_INPUT], output=output))
            except OSError as error:
                errors.append(error)

        thread = threading.Thread(target=second, daemon=True)
        thread.start()
        try:
            next(first)
        finally:
            ready.set()  # also when next() fails: the thread must not wait for ever
            thread.join(30)
    assert len(errors) == 1 and "another batch" in str(errors[0])


def test_input_files_are_read_line_by_line_with_bad_lines_as_errors(mock_server: MockServer, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_bytes(b'{"n": 0}\n\n[1]\n{"n": 3\n{"n": 4, "text": "caf\xc3\xa9"}')
    results = {result.index: result for result in batch(client_of(mock_server), ECHO, inputs, output=tmp_path / "r")}
    assert results[0].output == {"n": 0} and results[4].output == {"n": 4, "text": "café"}
    assert "input 1 (line 2) is empty" in (results[1].error or "")
    assert "is a JSON list, not an object" in (results[2].error or "")
    assert "input 3 (line 4) is not valid JSON" in (results[3].error or "")
    assert {results[i].status for i in (1, 2, 3)} == {"error"} and creates(mock_server) == 2


@pytest.mark.anyio
async def test_cancelling_the_async_task_records_the_creates_in_flight(slow: MockServer, tmp_path: Path) -> None:
    import anyio

    output = tmp_path / "results.jsonl"
    slow.fault(CREATE, delay=0.5, times=100)  # creates answered slowly: cancelled while they are in flight
    engine: AsyncBatch | None = None
    got: list[BatchResult] = []
    async with connect(slow.token, slow.base_url) as client:
        with anyio.move_on_after(1.0):
            async with async_batch(client, LLAMA, [SLOW_INPUT] * 40, concurrency=8, output=output) as engine:
                async for result in engine:
                    got.append(result)
    assert engine is not None and engine.stopped
    lines = lines_of(output)
    assert len({line["id"] for line in lines}) == creates(slow) > 0, "each create answered after the cancel is recorded"


@pytest.mark.anyio
async def test_stop_from_another_thread_stops_the_batch(slow: MockServer, tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    async with (
        connect(slow.token, slow.base_url) as client,
        async_batch(client, LLAMA, [SLOW_INPUT] * 40, concurrency=8, output=output) as engine,
    ):
        first = await engine.__anext__()
        stopper = threading.Thread(target=engine.stop, daemon=True)  # as a Ray actor's stop() may be called
        stopper.start()
        stopper.join()
        rest = [result async for result in engine]
    assert engine.stopped and not engine.completed and first.succeeded
    lines = lines_of(output)
    assert len({line["id"] for line in lines}) == creates(slow) < 40, "every create recorded, none after the stop"
    assert len({line["index"] for line in lines if line["status"] == "succeeded"}) == 1 + len(rest)


def test_a_results_file_that_cannot_be_written_stops_the_batch_with_its_error(
    mock_server: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inference_api.batching import _engine

    written = 0
    original = _engine._ResultsFile.write

    def write_then_fail(self: _engine._ResultsFile, record: dict[str, Any]) -> None:
        nonlocal written
        written += 1
        if written > 10:
            raise OSError(28, "No space left on device")
        original(self, record)

    monkeypatch.setattr(_engine._ResultsFile, "write", write_then_fail)
    with pytest.raises(OSError, match="No space left"):
        list(batch(client_of(mock_server), ECHO, echo_inputs(50), concurrency=4, output=tmp_path / "r.jsonl"))
    assert len(lines_of(tmp_path / "r.jsonl")) == 10


def test_ctrl_c_while_iterating_stops_the_batch_and_records_every_create(slow: MockServer, tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    slow.fault(CREATE, delay=0.3, times=100)  # some creates are waiting for their answer at Ctrl-C
    with (
        batch(client_of(slow), LLAMA, [SLOW_INPUT] * 60, concurrency=12, output=output) as results,
        ctrl_c_after(1.0),
        pytest.raises(KeyboardInterrupt),
    ):
        for _ in results:
            pass
    assert results.stopped
    lines = lines_of(output)
    assert len({line["id"] for line in lines}) == creates(slow) > 0
    assert creates(slow) < 60, "no create after Ctrl-C"


# --- reruns ----------------------------------------------------------------------------------------


def test_retry_failed_redoes_failed_predictions_and_a_plain_rerun_keeps_them(
    mock_server: MockServer, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    client = client_of(mock_server)
    assert [result.status for result in batch(client, FAIL, [{"a": 1}, {"a": 2}], output=output)] == ["failed"] * 2
    again = batch(client, FAIL, [{"a": 1}, {"a": 2}], output=output)
    assert list(again) == [] and again.stats.previously_failed == 2 and creates(mock_server) == 2
    redone = batch(client, FAIL, [{"a": 1}, {"a": 2}], output=output, retry_failed=True)
    assert len(list(redone)) == 2 and redone.stats.retried == 2 and creates(mock_server) == 4


@pytest.mark.anyio
async def test_async_batch_retries_errors_that_can_pass(mock_server: MockServer, tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    mock_server.fault(CREATE, status=502, times=3)
    async with connect(mock_server.token, mock_server.base_url) as client:
        async with async_batch(client, ECHO, echo_inputs(10), concurrency=1, output=output) as first:
            errors = [result async for result in first if not result.succeeded]
        assert len(errors) == 3 and all(result.retryable for result in errors)
        async with async_batch(client, ECHO, echo_inputs(10), output=output) as second:
            redone = [result async for result in second]
    assert sorted(result.index for result in redone) == sorted(result.index for result in errors)
    assert all(result.succeeded for result in redone) and second.stats.retried == 3


def test_a_list_of_other_inputs_is_refused_before_anything_is_sent(mock_server: MockServer, tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    client = client_of(mock_server)
    list(batch(client, ECHO, echo_inputs(20), output=output))
    before = output.read_bytes()
    mock_server.clear_requests()
    edited = echo_inputs(20)
    edited[7] = {"n": 700}
    with pytest.raises(ResultsMismatch, match=r"1 input\(s\) differ .*index 7\)"):
        list(batch(client, ECHO, [*edited, {"n": 20}], output=output))
    assert output.read_bytes() == before and mock_server.requests == []
    assert list(batch(client, ECHO, [{"n": n} for n in range(20)], output=output)) == [], "the same inputs: kept"


def test_an_iterator_of_other_inputs_stops_the_batch_where_they_differ(mock_server: MockServer, tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    client = client_of(mock_server)
    list(batch(client, ECHO, echo_inputs(10), output=output))
    before = lines_of(output)

    def inputs() -> Iterator[dict[str, int]]:  # read once: checked as it is read
        yield from echo_inputs(5)
        yield {"n": 555}
        yield from ({"n": n} for n in range(6, 30))

    with pytest.raises(ResultsMismatch, match=r"index 5\)"):
        list(batch(client, ECHO, inputs(), output=output))
    assert lines_of(output) == before, "nothing of the first results lost"


def test_another_model_is_refused_before_anything_is_sent(mock_server: MockServer, tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    client = client_of(mock_server)
    list(batch(client, ECHO, echo_inputs(3), output=output))
    before = output.read_bytes()
    mock_server.clear_requests()
    with pytest.raises(ResultsMismatch, match=f"results of model {ECHO}, and this run's model is {FAIL}"):
        list(batch(client, FAIL, echo_inputs(3), output=output))
    assert output.read_bytes() == before and mock_server.requests == []


def test_results_files_written_before_fingerprints_are_read_and_their_errors_redone(
    mock_server: MockServer, tmp_path: Path
) -> None:
    output = tmp_path / "results.jsonl"
    old = [
        {"index": 0, "id": "p0", "status": "succeeded", "output": {"n": 0}, "error": None},
        {"index": 1, "id": None, "status": "error", "output": None, "error": "AuthenticationError: 401"},
    ]
    output.write_text("".join(json.dumps(line) + "\n" for line in old))
    results = list(batch(client_of(mock_server), ECHO, [{"n": 0, "edited": True}, {"n": 1}, {"n": 2}], output=output))
    assert sorted(result.index for result in results) == [1, 2], "the old success is trusted, its error redone"
    lines = lines_of(output)
    assert lines[0] == old[0] and lines[1]["status"] == "succeeded" and lines[1]["input_hash"]


def test_a_401_stops_the_batch_with_every_create_recorded(mock_server: MockServer, tmp_path: Path) -> None:
    from inference_api.errors import AuthenticationError

    output = tmp_path / "results.jsonl"
    wrong = connect("wrong-token", mock_server.base_url)
    with pytest.raises(AuthenticationError):
        list(batch(wrong, ECHO, echo_inputs(100), concurrency=20, output=output))
    assert creates(mock_server) == 1 and [line["retryable"] for line in lines_of(output)] == [True]


def test_a_compaction_that_cannot_be_written_names_the_file_and_leaves_it_whole(
    mock_server: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    from inference_api.batching import ResultsWriteError

    output = tmp_path / "results.jsonl"
    late = {"index": 9, "id": "p9", "status": "succeeded", "output": {"n": 9}, "error": None}
    output.write_text(json.dumps(late) + "\n")  # the run appends before it: the compaction rewrites

    def full(source: str, destination: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(ResultsWriteError, match="cannot compact") as raised:
        list(batch(client_of(mock_server), ECHO, echo_inputs(10), output=output))
    assert raised.value.filename == str(output)
    final = {line["index"]: line["status"] for line in lines_of(output)}  # uncompacted: the last line decides
    assert final == dict.fromkeys(range(10), "succeeded")
    assert [path.name for path in tmp_path.iterdir()] == ["results.jsonl"], "no temporary file left"
