"""The README's SDK examples run as written against the mock server (over loopback)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from inference_api import InferenceClient
from inference_api.cli import build_parser
from inference_api_mock.testing import MockServer

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def sdk_examples() -> list[str]:
    """The Python blocks of "The SDK" section, before the SSE decoder (which needs a response)."""
    section = README.split("## The SDK: `extensions`", 1)[1].split("### Server-sent events", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_sdk_examples_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = sdk_examples()
    assert len(examples) >= 7, "the SDK section lost its examples"
    (tmp_path / "statue.jpg").write_bytes(b"\xff\xd8\xff\xe0 a tiny jpeg")
    monkeypatch.chdir(tmp_path)
    with MockServer(tokens=("readme-token",), speed=500.0) as server:
        monkeypatch.setenv("INFERENCE_API_TOKEN", server.token)
        monkeypatch.setenv("INFERENCE_API_BASE_URL", server.base_url)
        namespace: dict[str, object] = {"__name__": "readme"}
        for number, example in enumerate(examples, 1):
            code = compile(example, f"README.md SDK example {number}", "exec")
            exec(code, namespace)
        client = namespace["client"]
        assert isinstance(client, InferenceClient)
        client.close()
        created = [request for request in server.requests if request.method == "POST"]
    out = capsys.readouterr().out
    assert "succeeded" in out, "on_update printed the statuses"
    assert "404" in out, "the error example printed the status of a missing prediction"
    assert (tmp_path / "video.mp4").stat().st_size > 0, "the download example saved the video"
    assert len(created) >= 8


def cli_lines() -> list[str]:
    """The lines of the README's shell blocks that run `inference-api`."""
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if "inference-api " in line]


def test_the_readme_cli_examples_are_one_valid_command_per_line() -> None:
    lines = cli_lines()
    assert len(lines) >= 7
    commands = set()
    for line in lines:
        # Pasted into a shell, `a | b` would pipe one command into the next.
        assert line.count("inference-api") == 1 and "|" not in line, line
        words = shlex.split(line)
        assert words[0] == "inference-api"
        commands.add(build_parser().parse_args(words[1:]).command)  # exits (fails the test) on bad usage
    assert commands == {"run", "stream", "create", "get", "cancel", "wait", "download", "batch"}
