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
    assert done.stderr.startswith("inference-api: 1200 done in this run (0 failed)"), done.stderr


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
    assert "in flight" not in piped.stderr and piped.stderr.startswith("inference-api: 40 done")

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
    assert "2 done in this run (2 failed)" in capsys.readouterr().err


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
