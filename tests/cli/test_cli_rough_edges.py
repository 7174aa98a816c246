"""The command line as a new user meets it: pipes, bad option values, paths, timeouts, help, --verbose."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inference_api.cli import EXIT_API_ERROR, EXIT_OK, EXIT_TIMED_OUT, EXIT_USAGE, build_parser, main
from inference_api_mock.models import ECHO, IMAGE_TO_VIDEO, LLAMA
from inference_api_mock.testing import MockServer
from tests.cli.conftest import Invoke
from tests.hostile.answers import silent
from tests.hostile.rawserver import RawServer

SCRIPT = Path(sys.executable).parent / "inference-api"


def test_a_closed_pipe_ends_the_command_quietly(mock_server: MockServer) -> None:
    command = f"{SCRIPT} stream {LLAMA} -i 'prompt=A long story' -i max_new_tokens=400 | head -c 20"
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "INFERENCE_API_TOKEN": mock_server.token,
        "INFERENCE_API_BASE_URL": mock_server.base_url,
    }
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=120, env=environment
    )
    assert len(result.stdout.encode()) == 20 and result.stdout.startswith("You asked")
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["batch", ECHO, "in.jsonl", "-o", "out.jsonl", "--concurrency", "abc"], "'abc' is not a whole number"),
        (["batch", ECHO, "in.jsonl", "-o", "out.jsonl", "--concurrency", "0"], "'0': must be 1 or more"),
        (["wait", "abc", "--timeout", "soon"], "'soon' is not a number of seconds"),
        (["run", ECHO, "--timeout", "-1"], "a number of seconds greater than 0"),
    ],
)
def test_bad_option_values_are_said_plainly(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--token", "t0ken-for-usage", *arguments])
    err = capsys.readouterr().err
    assert exited.value.code == EXIT_USAGE and message in err, err
    assert "_positive" not in err and "invalid float value" not in err


def test_a_path_under_a_file_is_a_plain_message(cli: Invoke, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("a file, not a folder")
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"n": 1}\n')
    code, out, err = cli("batch", ECHO, str(inputs), "-o", str(tmp_path / "afile" / "results.jsonl"))
    assert code == EXIT_API_ERROR and out == ""
    assert err == f"inference-api: cannot create a file under {tmp_path / 'afile'}: " + (
        f"{tmp_path / 'afile'} exists and is not a directory\n"
    )


def test_a_download_path_ending_in_a_slash_is_a_directory(cli: Invoke, tmp_path: Path) -> None:
    _, out, _ = cli("run", IMAGE_TO_VIDEO, "-i", "image=https://x.test/a.jpg", "-i", "prompt=p", "--json")
    video_url = json.loads(out)["output"]
    code, out, err = cli("download", video_url, f"{tmp_path / 'videos'}/")
    saved = tmp_path / "videos" / video_url.rsplit("/", 1)[1]
    assert (code, err) == (EXIT_OK, "") and out == f"saved {saved.stat().st_size} bytes to {saved}\n"


@pytest.mark.parametrize("command", ["run", "stream"])
def test_run_and_stream_take_a_timeout(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with RawServer(silent) as raw:
        code = main(["--token", "t0ken-for-timeouts", "--base-url", raw.base_url, command, LLAMA, "--timeout", "0.5"])
    err = capsys.readouterr().err
    assert code == EXIT_TIMED_OUT and err.startswith("inference-api: ") and err.count("\n") == 1, err


def test_every_argument_has_help_and_enums_list_their_values(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    choices = next(action for action in parser._actions if action.dest == "command").choices
    assert isinstance(choices, dict)
    commands: dict[str, argparse.ArgumentParser] = choices
    for name, subparser in commands.items():
        with contextlib.suppress(SystemExit):  # parsing adds the command's request-field options
            subparser.parse_known_args([])
        for action in subparser._actions:
            assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
    create_help = commands["create"].format_help()
    assert "owner/name:version" in create_help
    for value in ("start", "output", "logs", "completed"):  # WebhookEvent's values, from the spec
        assert value in create_help.rsplit("--webhook-events-filter", 1)[1].split("\n  -", 1)[0], create_help


def test_verbose_logs_the_requests_to_stderr_without_the_token(mock_server: MockServer) -> None:
    environment = {"PATH": os.environ.get("PATH", ""), "INFERENCE_API_BASE_URL": mock_server.base_url}
    environment["INFERENCE_API_TOKEN"] = mock_server.token
    created = subprocess.run(
        [str(SCRIPT), "create", ECHO, "-i", "n=1"], capture_output=True, text=True, timeout=60, env=environment
    )
    prediction_id = json.loads(created.stdout)["id"]
    for extra_env, option in (({"INFERENCE_API_LOG": "debug"}, []), ({}, ["--verbose"])):
        result = subprocess.run(
            [str(SCRIPT), *option, "get", prediction_id],
            capture_output=True,
            text=True,
            timeout=60,
            env={**environment, **extra_env},
        )
        assert result.returncode == 0, result.stderr
        assert f"GET {mock_server.base_url}/v1/predictions/{prediction_id} -> 200" in result.stderr, result.stderr
        assert mock_server.token not in result.stderr
