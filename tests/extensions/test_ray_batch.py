"""ray_batch on a local Ray cluster of two worker processes, against the mock server over loopback.

The mock server counts the creating requests: every input must be created exactly once, by the
worker that owns its index, also when a run resumes a results file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

from inference_api import create
from inference_api.batching.ray import ray_batch
from inference_api.connection import connect
from inference_api_mock.models import ECHO, FAIL, LLAMA
from inference_api_mock.testing import MockServer


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    # Local only: no dashboard, no usage statistics (CI has no network but package registries).
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    yield
    ray.shutdown()


def write_inputs(path: Path, count: int) -> Path:
    path.write_text("".join(json.dumps({"n": n}) + "\n" for n in range(count)))
    return path


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def creates(server: MockServer) -> int:
    return sum(1 for request in server.requests if request.method == "POST" and request.path == "/v1/predictions")


def test_two_workers_do_every_input_exactly_once(ray_cluster: None, mock_server: MockServer, tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path / "inputs.jsonl", 400)
    output = tmp_path / "results.jsonl"
    summary = ray_batch(
        ECHO, inputs, output, workers=2, concurrency=16, token=mock_server.token, base_url=mock_server.base_url
    )
    assert creates(mock_server) == 400
    assert summary.done_by_worker == [200, 200], "sharded by index over both workers"
    assert (summary.succeeded, summary.failed, summary.created, summary.stopped) == (400, 0, 400, False)
    lines = lines_of(output)
    assert [line["index"] for line in lines] == list(range(400)), "the results file of `batch`, in input order"
    assert all(line["status"] == "succeeded" and line["output"] == {"n": line["index"]} for line in lines)
    assert len({line["id"] for line in lines}) == 400


def test_a_run_resumes_the_results_file_and_re_attaches_running_predictions(
    ray_cluster: None, mock_server: MockServer, tmp_path: Path
) -> None:
    client = connect(mock_server.token, mock_server.base_url)
    inputs = write_inputs(tmp_path / "inputs.jsonl", 100)
    output = tmp_path / "results.jsonl"
    done = [
        {"index": n, "id": f"earlier{n}", "status": "succeeded", "output": {"n": n}, "error": None} for n in range(30)
    ]
    # Created by an earlier run that was interrupted: a chat prediction still running on the server.
    running = {n: create(client, LLAMA, {"prompt": f"story {n}", "max_new_tokens": 40}).id for n in range(30, 40)}
    started = [
        {"index": n, "id": pid, "status": "starting", "output": None, "error": None} for n, pid in running.items()
    ]
    output.write_text("".join(json.dumps(line) + "\n" for line in done + started))
    mock_server.clear_requests()

    summary = ray_batch(ECHO, inputs, output, workers=2, token=mock_server.token, base_url=mock_server.base_url)
    assert creates(mock_server) == 60, "neither the 30 done nor the 10 running were created again"
    assert summary.previously_done == 30 and sum(summary.done_by_worker) == 70
    lines = lines_of(output)
    assert [line["index"] for line in lines] == list(range(100))
    assert {line["index"]: line["id"] for line in lines if line["index"] in running} == running
    assert all(line["status"] == "succeeded" for line in lines)


def test_bad_arguments_are_refused_before_ray_starts(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="workers"):
        ray_batch(ECHO, tmp_path / "in.jsonl", tmp_path / "out.jsonl", workers=0, token="t")
    with pytest.raises(OSError, match="no such input file"):
        ray_batch(ECHO, tmp_path / "in.jsonl", tmp_path / "out.jsonl", token="t")
    assert not (tmp_path / "out.jsonl").exists()


def test_failed_inputs_are_kept_and_retry_failed_does_them_again(
    ray_cluster: None, mock_server: MockServer, tmp_path: Path
) -> None:
    inputs = write_inputs(tmp_path / "inputs.jsonl", 6)
    output = tmp_path / "results.jsonl"
    options: dict[str, Any] = {"workers": 2, "token": mock_server.token, "base_url": mock_server.base_url}
    assert ray_batch(FAIL, inputs, output, **options).failed == 6
    again = ray_batch(FAIL, inputs, output, **options)
    assert (again.previously_done, again.created, creates(mock_server)) == (6, 0, 6)
    redone = ray_batch(FAIL, inputs, output, retry_failed=True, **options)
    assert redone.created == 6 and creates(mock_server) == 12
    assert [line["status"] for line in lines_of(output)] == ["failed"] * 6


def test_another_model_or_other_inputs_are_refused_before_ray_starts(mock_server: MockServer, tmp_path: Path) -> None:
    from inference_api.batching import ResultsMismatch

    inputs = write_inputs(tmp_path / "inputs.jsonl", 3)
    output = tmp_path / "results.jsonl"
    line = {"index": 0, "id": "p0", "status": "succeeded", "output": {"n": 0}, "error": None, "model": ECHO}
    output.write_text(json.dumps(line | {"input_hash": "0123456789abcdef"}) + "\n")
    before = output.read_bytes()
    options: dict[str, Any] = {"token": mock_server.token, "base_url": mock_server.base_url}
    with pytest.raises(ResultsMismatch, match=f"results of model {ECHO}"):
        ray_batch(FAIL, inputs, output, **options)
    with pytest.raises(ResultsMismatch, match="other inputs"):
        ray_batch(ECHO, inputs, output, **options)
    assert output.read_bytes() == before and mock_server.requests == []
