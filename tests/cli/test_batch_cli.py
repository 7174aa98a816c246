"""`inference-api batch`, as a user runs it: a process of its own, against the mock server over loopback.

The mock server's request log counts the creating requests (POST /v1/predictions) it received, and
its fault plans answer 429 or slow creates down.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inference_api.cli import main
from inference_api_mock.faults import MAX_RECORDED_REQUESTS
from inference_api_mock.models import ECHO, FAIL, LLAMA
from inference_api_mock.testing import MockServer

CREATE = "POST /v1/predictions"


@pytest.fixture(scope="module")
def slow_server() -> Iterator[MockServer]:
    # Speed 2: a chat prediction of 20 tokens runs 0.75 s.
    with MockServer(tokens=("test-token",), speed=2.0, faults=True) as server:
        yield server


def command(server: MockServer, *args: str | Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "inference_api.cli",
        "--token",
        server.token,
        "--base-url",
        server.base_url,
        "batch",
        *map(str, args),
    ]


def environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("INFERENCE_API_")}


def write_inputs(path: Path, inputs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(value) + "\n" for value in inputs))
    return path


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def creates(server: MockServer) -> int:
    requests = server.requests
    assert len(requests) < MAX_RECORDED_REQUESTS, "the request log is full: counts would be wrong"
    return sum(1 for request in requests if request.method == "POST" and request.path == "/v1/predictions")


def test_1200_inputs_through_30_rate_limited_creates(mock_server: MockServer, tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path / "inputs.jsonl", [{"n": n, "text": f"line {n}"} for n in range(1200)])
    output = tmp_path / "results.jsonl"
    mock_server.fault(CREATE, status=429, retry_after="0", times=30)
    done = subprocess.run(
        command(mock_server, ECHO, inputs, "--output", output, "--concurrency", "100"),
        capture_output=True,
        text=True,
        timeout=300,
        env=environment(),
    )
    assert done.returncode == 0, done.stderr
    lines = lines_of(output)
    assert [line["index"] for line in lines] == list(range(1200)), "one line per input, in input order"
    assert all(line["status"] == "succeeded" and line["error"] is None for line in lines)
    assert all(line["output"] == {"n": line["index"], "text": f"line {line['index']}"} for line in lines)
    assert len({line["id"] for line in lines}) == 1200
    assert creates(mock_server) == 1230, "each 429 cost exactly one more create"
    assert done.stderr.startswith("inference-api: 1200 inputs: 1200 succeeded, 0 failed; 1200 done in this run"), (
        done.stderr
    )


def slow_batch(server: MockServer, tmp_path: Path, *, count: int, concurrency: int) -> tuple[list[str], Path]:
    """The command of a batch of `count` chat inputs, and its results file, on an emptied server."""
    server.clear_requests()
    server.clear_faults()
    # Creates answered after 0.1 s: at an interrupt, some are still waiting for their answer.
    server.fault(CREATE, delay=0.1, times=5000)
    slow = {"prompt": "A short story", "max_new_tokens": 20, "min_new_tokens": 20}
    inputs = write_inputs(tmp_path / "inputs.jsonl", [slow | {"prompt": f"story {n}"} for n in range(count)])
    output = tmp_path / "results.jsonl"
    return command(server, LLAMA, inputs, "--output", output, "--concurrency", str(concurrency)), output


def wait_until_the_server_has_read_everything(server: MockServer) -> None:
    """After a kill -9, creates the process sent can still be unread in the server's sockets: count
    them only once the server has closed every connection of the process (it reads a socket to
    its end before it sees it closed) and handled every request it read."""
    assert server._server is not None
    state = server._server.server_state
    deadline = time.monotonic() + 60
    while len(state.connections) or len(state.tasks):
        assert time.monotonic() < deadline, "the server still holds connections of a killed process"
        time.sleep(0.02)


def wait_for_the_first_create(server: MockServer, process: subprocess.Popen[Any]) -> None:
    """Interrupts count from the first create: starting Python on a busy machine is not what is tested."""
    deadline = time.monotonic() + 60
    while not any(request.method == "POST" for request in server.requests):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)


def test_interrupted_by_sigint_then_run_again_creates_each_input_once(slow_server: MockServer, tmp_path: Path) -> None:
    arguments, output = slow_batch(slow_server, tmp_path, count=1200, concurrency=200)
    first = subprocess.Popen(arguments, stderr=subprocess.PIPE, text=True, env=environment())
    try:
        wait_for_the_first_create(slow_server, first)
        time.sleep(2.0)
        first.send_signal(signal.SIGINT)
        _, stderr = first.communicate(timeout=120)
    finally:
        first.kill()  # no-op once it exited; a failing test leaves no process behind
        first.communicate()
    assert first.returncode == 130, stderr
    assert "interrupted" in stderr and "run the same command again" in stderr
    lines = lines_of(output)
    recorded = {line["id"] for line in lines}
    assert len(recorded) == creates(slow_server), "every prediction created is in the results file"
    finished = {line["index"] for line in lines if line["status"] == "succeeded"}
    running = {line["index"] for line in lines} - finished
    assert finished and running, "interrupted with some inputs done and some running"
    assert len(finished) < 1200

    second = subprocess.run(arguments, capture_output=True, text=True, timeout=300, env=environment())
    assert second.returncode == 0, second.stderr
    lines = lines_of(output)
    assert [line["index"] for line in lines] == list(range(1200))
    assert {line["status"] for line in lines} == {"succeeded"}
    assert creates(slow_server) == 1200, "nothing was created twice"
    assert recorded <= {line["id"] for line in lines}, "running predictions were re-attached by id"


def test_after_kill_9_only_the_creates_in_flight_can_be_repeated(slow_server: MockServer, tmp_path: Path) -> None:
    arguments, output = slow_batch(slow_server, tmp_path, count=600, concurrency=100)
    first = subprocess.Popen(arguments, stderr=subprocess.DEVNULL, env=environment())
    try:
        wait_for_the_first_create(slow_server, first)
        time.sleep(1.5)
    finally:
        first.kill()  # SIGKILL: no chance to record anything more
        first.wait(30)
    wait_until_the_server_has_read_everything(slow_server)
    recorded = {line["id"] for line in lines_of(output)}
    lost = creates(slow_server) - len(recorded)
    assert 0 <= lost <= 100, "at most the creates in flight (the concurrency) went unrecorded"

    second = subprocess.run(arguments, capture_output=True, text=True, timeout=300, env=environment())
    assert second.returncode == 0, second.stderr
    lines = lines_of(output)
    assert [line["index"] for line in lines] == list(range(600))
    assert {line["status"] for line in lines} == {"succeeded"}
    assert creates(slow_server) == 600 + lost, "only those inputs were created a second time"


def test_a_terminal_gets_a_progress_bar_and_a_pipe_does_not(mock_server: MockServer, tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path / "inputs.jsonl", [{"n": n} for n in range(40)])
    piped = subprocess.run(
        command(mock_server, ECHO, inputs, "--output", tmp_path / "piped.jsonl"),
        capture_output=True,
        text=True,
        timeout=120,
        env=environment(),
    )
    assert piped.returncode == 0 and piped.stdout == ""
    assert "in flight" not in piped.stderr and piped.stderr.startswith("inference-api: 40 inputs: 40 succeeded")

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        command(mock_server, ECHO, inputs, "--output", tmp_path / "terminal.jsonl"),
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env=environment() | {"TERM": "xterm-256color", "COLUMNS": "160"},
    )
    os.close(terminal)
    screen = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed
                return
            if not chunk:
                return
            screen.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert process.wait(timeout=120) == 0
    finally:
        process.kill()  # no-op once it exited; a failing test leaves no process behind
        process.wait()
        reader.join(10)
        os.close(controller)
    text = screen.decode(errors="replace")
    assert "40/40" in text and "0 failed" in text and "in flight" in text and "/s" in text, text


def batch_in_process(server: MockServer, *args: str | Path) -> int:
    return main(["--token", server.token, "--base-url", server.base_url, "batch", *map(str, args)])


def test_failed_inputs_exit_1_with_their_lines_saying_why(
    mock_server: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = write_inputs(tmp_path / "inputs.jsonl", [{"a": 1}, {"a": 2}])
    output = tmp_path / "results.jsonl"
    code = batch_in_process(mock_server, FAIL, inputs, "-o", output)
    assert code == 1
    assert [line["status"] for line in lines_of(output)] == ["failed", "failed"]
    err = capsys.readouterr().err
    assert "2 inputs: 0 succeeded, 2 failed (2 for good: --retry-failed does them again)" in err


def test_a_bad_input_line_is_an_error_line_and_the_rest_run(
    mock_server: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text('{"n": 0}\nnot json\n{"n": 2}\n')
    output = tmp_path / "results.jsonl"
    code = batch_in_process(mock_server, ECHO, inputs, "-o", output)
    assert code == 1
    lines = lines_of(output)
    assert [line["status"] for line in lines] == ["succeeded", "error", "succeeded"]
    assert "input 1 (line 2) is not valid JSON" in lines[1]["error"]


def test_files_that_cannot_be_used_are_one_line_errors(
    mock_server: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert batch_in_process(mock_server, ECHO, tmp_path / "missing.jsonl", "-o", tmp_path / "r.jsonl") == 1
    assert "no such input file" in capsys.readouterr().err
    inputs = write_inputs(tmp_path / "inputs.jsonl", [{"n": 1}])
    not_results = tmp_path / "notes.txt"
    not_results.write_text("my notes\n")
    assert batch_in_process(mock_server, ECHO, inputs, "-o", not_results) == 2
    err = capsys.readouterr().err
    assert "notes.txt line 1 is not JSON" in err and err.count("\n") == 1
    assert not_results.read_text() == "my notes\n" and mock_server.requests == []
    with pytest.raises(SystemExit):
        batch_in_process(mock_server, ECHO, inputs, "-o", tmp_path / "r.jsonl", "--concurrency", "0")


# --- reruns: what is done again, what is refused -----------------------------------------------------


def batch_with_token(server: MockServer, token: str, *args: str | Path) -> int:
    return main(["--token", token, "--base-url", server.base_url, "batch", *map(str, args)])


def test_a_wrong_token_stops_at_the_first_401_and_the_rerun_does_every_input(
    mock_server: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = write_inputs(tmp_path / "inputs.jsonl", [{"n": n} for n in range(200)])
    output = tmp_path / "results.jsonl"
    code = batch_with_token(mock_server, "wrong-token", ECHO, inputs, "-o", output, "--concurrency", "50")
    err = capsys.readouterr().err
    assert code == 1, err
    assert creates(mock_server) == 1, "the first create goes alone: its 401 stops the batch"
    [line] = lines_of(output)
    assert line["status"] == "error" and line["retryable"] is True and "AuthenticationError" in line["error"]
    assert "AuthenticationError" in err and "wrong-token" not in err + output.read_text()

    mock_server.clear_requests()
    assert batch_in_process(mock_server, ECHO, inputs, "-o", output, "--concurrency", "50") == 0
    lines = lines_of(output)
    assert [line["index"] for line in lines] == list(range(200))
    assert all(line["status"] == "succeeded" and line["output"] == {"n": line["index"]} for line in lines)
    assert creates(mock_server) == 200
    assert "200 inputs: 200 succeeded, 0 failed; 200 done in this run, 0 kept" in capsys.readouterr().err


def test_errors_that_can_pass_are_retried_and_the_summary_counts_them_as_failed(
    mock_server: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = write_inputs(tmp_path / "inputs.jsonl", [{"n": n} for n in range(20)])
    output = tmp_path / "results.jsonl"
    mock_server.fault(CREATE, status=503, times=20)  # a create is not retried on 5xx: it may exist
    assert batch_in_process(mock_server, ECHO, inputs, "-o", output) == 1
    assert "20 inputs: 0 succeeded, 20 failed (20 retryable: run again)" in capsys.readouterr().err
    mock_server.clear_requests()
    assert batch_in_process(mock_server, ECHO, inputs, "-o", output) == 0
    assert creates(mock_server) == 20 and {line["status"] for line in lines_of(output)} == {"succeeded"}


def test_a_line_fixed_since_is_done_again_and_nothing_else(
    mock_server: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text('{"n": 0}\n{"n": 1,\n{"n": 2}\n')
    output = tmp_path / "results.jsonl"
    assert batch_in_process(mock_server, ECHO, inputs, "-o", output) == 1
    assert [line["status"] for line in lines_of(output)] == ["succeeded", "error", "succeeded"]
    mock_server.clear_requests()
    assert batch_in_process(mock_server, ECHO, inputs, "-o", output) == 1, "unchanged, it stays an error"
    assert creates(mock_server) == 0
    assert "1 for good" in capsys.readouterr().err

    inputs.write_text('{"n": 0}\n{"n": 1}\n{"n": 2}\n')
    first_ids = [line["id"] for line in lines_of(output)]
    assert batch_in_process(mock_server, ECHO, inputs, "-o", output) == 0
    lines = lines_of(output)
    assert [line["status"] for line in lines] == ["succeeded"] * 3 and lines[1]["output"] == {"n": 1}
    assert creates(mock_server) == 1 and [lines[0]["id"], lines[2]["id"]] == [first_ids[0], first_ids[2]]


def test_another_inputs_file_or_another_model_on_the_same_output_is_refused_with_the_results_intact(
    mock_server: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = write_inputs(tmp_path / "inputs.jsonl", [{"n": n} for n in range(100)])
    output = tmp_path / "results.jsonl"
    assert batch_in_process(mock_server, ECHO, inputs, "-o", output) == 0
    capsys.readouterr()
    before = output.read_bytes()
    mock_server.clear_requests()

    others = write_inputs(tmp_path / "others.jsonl", [{"n": n, "edited": True} for n in range(150)])
    assert batch_in_process(mock_server, ECHO, others, "-o", output) == 2
    err = capsys.readouterr().err
    assert "holds results of other inputs: 100 input(s) differ" in err and "index 0, 1, 2, 3, 4, ..." in err
    assert output.read_bytes() == before and mock_server.requests == []

    assert batch_in_process(mock_server, LLAMA, inputs, "-o", output) == 2
    err = capsys.readouterr().err
    assert f"holds results of model {ECHO}, and this run's model is {LLAMA}" in err
    assert output.read_bytes() == before and mock_server.requests == []

    version_only = ECHO.rpartition(":")[2]  # the same model named by its version
    assert batch_in_process(mock_server, version_only, inputs, "-o", output) == 0
    assert output.read_bytes() == before and mock_server.requests == []


def test_failed_for_good_is_kept_and_retry_failed_does_it_again(
    mock_server: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = write_inputs(tmp_path / "inputs.jsonl", [{"a": 1}, {"a": 2}, {"a": 3}])
    output = tmp_path / "results.jsonl"
    assert batch_in_process(mock_server, FAIL, inputs, "-o", output) == 1
    first_ids = {line["id"] for line in lines_of(output)}
    mock_server.clear_requests()
    assert batch_in_process(mock_server, FAIL, inputs, "-o", output) == 1
    assert creates(mock_server) == 0
    assert batch_in_process(mock_server, FAIL, inputs, "-o", output, "--retry-failed") == 1
    assert creates(mock_server) == 3
    lines = lines_of(output)
    assert [line["status"] for line in lines] == ["failed"] * 3 and not first_ids & {line["id"] for line in lines}
    assert "3 inputs: 0 succeeded, 3 failed (3 for good" in capsys.readouterr().err.splitlines()[-1]


def test_a_malformed_model_ref_is_refused_before_anything_is_sent(
    mock_server: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = write_inputs(tmp_path / "inputs.jsonl", [{"n": n} for n in range(50)])
    output = tmp_path / "results.jsonl"
    assert batch_in_process(mock_server, "mock/echo:not-a-version", inputs, "-o", output) == 2
    assert creates(mock_server) == 0
    assert "not a model" in capsys.readouterr().err
    assert not output.exists() or lines_of(output) == []


@pytest.mark.parametrize(("model", "refusal"), [("mock/echo:" + "0" * 64, "NotFoundError")])
def test_an_unknown_model_stops_before_the_second_create(
    mock_server: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], model: str, refusal: str
) -> None:
    inputs = write_inputs(tmp_path / "inputs.jsonl", [{"n": n} for n in range(50)])
    output = tmp_path / "results.jsonl"
    assert batch_in_process(mock_server, model, inputs, "-o", output, "--concurrency", "20") == 1
    assert creates(mock_server) == 1
    assert refusal in capsys.readouterr().err
    [line] = lines_of(output)
    assert line["status"] == "error" and line["retryable"] is False
    mock_server.clear_requests()
    assert batch_in_process(mock_server, ECHO, inputs, "-o", output) == 0, "another model: its refusal is redone"
    assert creates(mock_server) == 50


def test_a_full_disk_stops_creates_names_the_file_and_cancels_what_it_cannot_record(
    slow_server: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from inference_api.batching import _engine

    slow_server.clear_requests()
    slow_server.clear_faults()
    slow_server.fault(CREATE, delay=0.2, times=1000)  # creates in flight when the disk fills
    appended = 0
    original = _engine._ResultsFile._append

    def fill_up(self: _engine._ResultsFile, data: bytes) -> int:
        nonlocal appended
        appended += 1
        if appended > 30:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, data)

    monkeypatch.setattr(_engine._ResultsFile, "_append", fill_up)
    slow = {"prompt": "A short story", "max_new_tokens": 20, "min_new_tokens": 20}
    inputs = write_inputs(tmp_path / "inputs.jsonl", [slow | {"prompt": f"story {n}"} for n in range(300)])
    output = tmp_path / "results.jsonl"
    code = batch_in_process(slow_server, LLAMA, inputs, "-o", output, "--concurrency", "40")
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device" in err and str(output) in err, err
    recorded = {line["id"] for line in lines_of(output)}  # whole lines only: the failed one was cut back
    assert len(recorded) == 30
    canceled = {request.path.split("/")[3] for request in slow_server.requests if request.path.endswith("/cancel")}
    assert canceled and not canceled & recorded
    assert creates(slow_server) == len(recorded) + len(canceled) < 300, "each one created: recorded or canceled"


def test_a_symlinked_results_file_is_written_through_its_link(mock_server: MockServer, tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path / "inputs.jsonl", [{"n": n} for n in range(30)])
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "results.jsonl"
    # A line for index 5 first: the run appends the others after it, so the compaction rewrites.
    target.write_text(
        json.dumps({"index": 5, "id": "p5", "status": "succeeded", "output": {"n": 5}, "error": None}) + "\n"
    )
    link = tmp_path / "results.jsonl"
    link.symlink_to(target)
    assert batch_in_process(mock_server, ECHO, inputs, "-o", link) == 0
    assert link.is_symlink() and link.resolve() == target.resolve()
    lines = lines_of(target)
    assert [line["index"] for line in lines] == list(range(30)), "compacted, in the target"
    assert lines[5]["id"] == "p5" and creates(mock_server) == 29
    assert sorted(path.name for path in (tmp_path / "real").iterdir()) == ["results.jsonl"]


def test_a_results_file_made_read_only_stops_at_the_first_create_and_cancels_it(
    slow_server: MockServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from inference_api.batching import _engine

    def read_only(self: _engine._ResultsFile, data: bytes) -> int:
        raise OSError(errno.EROFS, "Read-only file system")  # what a remount read-only answers (root ignores chmod)

    monkeypatch.setattr(_engine._ResultsFile, "_append", read_only)
    slow_server.clear_requests()
    slow_server.clear_faults()
    slow = {"prompt": "A short story", "max_new_tokens": 20, "min_new_tokens": 20}
    inputs = write_inputs(tmp_path / "inputs.jsonl", [slow] * 50)
    output = tmp_path / "results.jsonl"
    code = main(
        [
            "--token",
            slow_server.token,
            "--base-url",
            slow_server.base_url,
            "batch",
            LLAMA,
            str(inputs),
            "-o",
            str(output),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "Read-only file system" in err and str(output) in err, err
    assert output.read_bytes() == b""
    cancels = [request for request in slow_server.requests if request.path.endswith("/cancel")]
    assert creates(slow_server) == len(cancels) == 1, "the first create goes alone; its prediction is canceled"
