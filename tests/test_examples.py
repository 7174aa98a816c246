"""Every script in examples/ runs against the mock server (over loopback) and prints what it says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from inference_api_mock.models import IMAGE_TO_VIDEO, LLAMA, MISTRAL
from inference_api_mock.testing import MockServer
from tests.script_module import load_script

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FLOWS = ["create_and_wait", "get_prediction", "cancel_prediction", "run_model", "stream_output"]


def run_example(server: MockServer, name: str, *args: str) -> str:
    environment = {**os.environ, "INFERENCE_API_TOKEN": server.token, "INFERENCE_API_BASE_URL": server.base_url}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        cwd=EXAMPLES.parent,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_flow_has_a_sync_and_an_async_script() -> None:
    scripts = {path.stem for path in EXAMPLES.glob("*.py")} - {"guide"}
    assert scripts == {*FLOWS, *(f"async_{flow}" for flow in FLOWS)}


def test_the_examples_use_the_guides_models() -> None:
    guide = load_script(EXAMPLES / "guide.py")
    assert (guide.IMAGE_TO_VIDEO, guide.MISTRAL, guide.LLAMA) == (IMAGE_TO_VIDEO, MISTRAL, LLAMA)


@pytest.mark.parametrize("prefix", ["", "async_"])
def test_create_and_wait_prints_its_progress_then_the_output(mock_server: MockServer, prefix: str) -> None:
    lines = run_example(mock_server, f"{prefix}create_and_wait").splitlines()
    assert lines[0].startswith("created ")
    progress = lines[1:-1]
    assert any("starting" in line or "processing" in line for line in progress)
    assert "succeeded" in progress[-1] and "Denoising step 50/50" in progress[-1]
    assert lines[-1].startswith("output: http://127.0.0.1:") and lines[-1].endswith(".mp4")


@pytest.mark.parametrize("prefix", ["", "async_"])
def test_get_prints_the_prediction(mock_server: MockServer, prefix: str) -> None:
    out = run_example(mock_server, f"{prefix}get_prediction")
    first_line, _, document = out.partition("\n")
    prediction = json.loads(document)
    assert first_line == f"{prediction['id']}: {prediction['status']}"
    again = run_example(mock_server, f"{prefix}get_prediction", prediction["id"])
    assert json.loads(again.partition("\n")[2])["id"] == prediction["id"]


@pytest.fixture(scope="module")
def real_speed_server() -> Iterator[MockServer]:
    """Predictions that take seconds, as real ones do: still running when the example cancels them."""
    with MockServer(tokens=("examples-token",), speed=1.0) as server:
        yield server


@pytest.mark.parametrize("prefix", ["", "async_"])
def test_cancel_cancels(real_speed_server: MockServer, prefix: str) -> None:
    out = run_example(real_speed_server, f"{prefix}cancel_prediction")
    assert out.endswith(": canceled\n")
    prediction_id = out.split(":")[0]
    again = run_example(real_speed_server, f"{prefix}cancel_prediction", prediction_id)
    assert again == out, "canceling again: no change"


@pytest.mark.parametrize("prefix", ["", "async_"])
def test_run_prints_the_models_text(mock_server: MockServer, prefix: str) -> None:
    out = run_example(mock_server, f"{prefix}run_model")
    assert out.startswith("You asked: «Can you write me a poem") and len(out) > 100


@pytest.mark.parametrize("prefix", ["", "async_"])
def test_stream_prints_the_pieces(mock_server: MockServer, prefix: str) -> None:
    out = run_example(mock_server, f"{prefix}stream_output")
    assert out.startswith("You asked: «Plan a day of sightseeing") and out.endswith("\n") and len(out) > 100
