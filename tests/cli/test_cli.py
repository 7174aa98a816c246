"""The `inference-api` command line, against the mock server over loopback."""

from __future__ import annotations

import importlib.metadata
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import inference_api
from inference_api.cli import (
    EXIT_API_ERROR,
    EXIT_CANCELED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TIMED_OUT,
    EXIT_USAGE,
    main,
    parse_input,
)
from inference_api_mock.models import ECHO, FAIL, IMAGE_TO_VIDEO, LLAMA
from inference_api_mock.testing import MockServer
from tests.cli.conftest import Invoke


def version(ref: str) -> str:
    return ref.split(":")[1]


def test_parse_input_reads_json_values_text_and_files(tmp_path: Path) -> None:
    image = tmp_path / "photo.png"
    image.write_bytes(b"\x89PNG")
    parsed = parse_input(["prompt=hello world", "max_new_tokens=64", "top_p=0.9", "debug=true", f"image=@{image}"])
    assert parsed == {"prompt": "hello world", "max_new_tokens": 64, "top_p": 0.9, "debug": True, "image": image}
    with pytest.raises(ValueError, match="not key=value"):
        parse_input(["prompt"])
    with pytest.raises(ValueError, match="no such file"):
        parse_input([f"image=@{tmp_path / 'missing.png'}"])


def test_run_prints_the_text_output(cli: Invoke) -> None:
    code, out, err = cli("run", LLAMA, "-i", "prompt=Plan a day", "-i", "max_new_tokens=12")
    assert (code, err) == (0, "")
    code, as_json, _ = cli("run", LLAMA, "-i", "prompt=Plan a day", "-i", "max_new_tokens=12", "--json")
    prediction = json.loads(as_json)
    assert prediction["status"] == "succeeded"
    assert out == "".join(prediction["output"]) + "\n", "the text is the joined output pieces"


def test_run_sends_local_files_as_data_uris(cli: Invoke, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n")
    code, out, _ = cli("run", ECHO, "-i", f"image=@{photo}", "--json")
    assert code == 0
    assert json.loads(out)["output"] == {"image": "data:image/png;base64,iVBORw0K"}


def test_stream_prints_the_same_text_as_it_arrives(cli: Invoke) -> None:
    code, streamed, _ = cli("stream", LLAMA, "-i", "prompt=Tell me a story", "-i", "max_new_tokens=20")
    _, ran, _ = cli("run", LLAMA, "-i", "prompt=Tell me a story", "-i", "max_new_tokens=20")
    assert code == 0
    assert streamed == ran and len(streamed) > 20


def test_create_wait_get_cancel_and_download(cli: Invoke, tmp_path: Path) -> None:
    code, out, _ = cli("create", version(IMAGE_TO_VIDEO), "-i", "image=https://x.test/a.jpg", "-i", "prompt=p")
    created = json.loads(out)
    assert code == 0 and created["status"] == "starting"

    code, out, _ = cli("wait", created["id"], "--timeout", "30")
    finished = json.loads(out)
    assert (code, finished["status"]) == (0, "succeeded")

    code, out, _ = cli("get", created["id"])
    assert json.loads(out) == finished

    code, out, _ = cli("cancel", created["id"])
    assert json.loads(out)["status"] == "succeeded", "canceling a finished prediction changes nothing"

    code, out, _ = cli("download", finished["output"], str(tmp_path / "video.mp4"))
    assert code == 0 and out.startswith("saved ")
    assert (tmp_path / "video.mp4").stat().st_size > 0


def test_create_with_wait_and_stream(cli: Invoke) -> None:
    code, out, _ = cli("create", version(LLAMA), "-i", "prompt=hi", "--stream", "--wait")
    prediction = json.loads(out)
    assert code == 0
    assert prediction["status"] == "succeeded" and prediction["urls"]["stream"]


def test_api_errors_exit_1_with_one_line_and_no_token(cli: Invoke, mock_server: MockServer) -> None:
    code, out, err = cli("get", "no-such-prediction")
    assert (code, out) == (1, "")
    assert err.startswith("inference-api: NotFoundError:") and err.count("\n") == 1
    assert mock_server.token not in err

    code, _, err = cli("create", version(FAIL), "-i", "prompt=x", "--wait")
    assert code == 1 and "PredictionError" in err and "failed" in err


def test_a_wrong_token_is_an_authentication_error(mock_server: MockServer, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--token", "wrong-token-value", "--base-url", mock_server.base_url, "get", "abc"])
    err = capsys.readouterr().err
    assert code == 1 and "AuthenticationError" in err and "wrong-token-value" not in err


def test_bad_ids_and_inputs_are_refused_before_any_request(cli: Invoke, mock_server: MockServer) -> None:
    for bad_id in ("..", "."):
        code, _, err = cli("get", bad_id)
        assert code == 2 and "id" in err
    code, _, err = cli("run", LLAMA, "-i", "prompt")
    assert code == 2 and "key=value" in err
    assert mock_server.requests == []


def test_no_token_is_a_usage_error_that_names_the_option_and_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("INFERENCE_API_TOKEN", raising=False)
    for args in (["get", "abc"], ["--token", "  ", "get", "abc"]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err == "inference-api: no API token: pass --token TOKEN or set INFERENCE_API_TOKEN\n"


def test_a_short_token_is_a_usage_error_and_never_mangles_output(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # With token "T" redaction once turned "Test" into "[REDACTED]est": such a token is refused.
    assert main(["--token", "T", "--base-url", mock_server.base_url, "run", ECHO, "-i", 'prompt="Test"']) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "token is too short" in err
    assert mock_server.requests == []


def test_console_script_reads_the_environment(mock_server: MockServer) -> None:
    environment = {"INFERENCE_API_TOKEN": mock_server.token, "INFERENCE_API_BASE_URL": mock_server.base_url}
    script = Path(sys.executable).parent / "inference-api"
    result = subprocess.run(
        [str(script), "run", ECHO, "-i", 'prompt="hi"', "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["output"] == {"prompt": "hi"}


def test_a_local_file_error_is_one_line(cli: Invoke, tmp_path: Path) -> None:
    _, out, _ = cli("run", IMAGE_TO_VIDEO, "-i", "image=https://x.test/a.jpg", "-i", "prompt=p", "--json")
    video_url = json.loads(out)["output"]
    (tmp_path / "a-file").write_text("not a folder")
    code, out, err = cli("download", video_url, str(tmp_path / "a-file" / "video.mp4"))
    assert (code, out) == (1, "")
    assert err.startswith("inference-api: ") and err.count("\n") == 1 and "Traceback" not in err


# Exit codes: one for each way a command can end, listed in --help.


@pytest.fixture(scope="module")
def slow_server() -> Iterator[MockServer]:
    """A mock server at real speed: its predictions run long enough to cancel or time out."""
    with MockServer(tokens=("slow-token",), speed=1.0) as server:
        yield server


def slow_cli(server: MockServer, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--token", server.token, "--base-url", server.base_url, *args])
    out, err = capsys.readouterr()
    return code, out, err


LONG_STORY = ("-i", "prompt=A long story", "-i", "max_new_tokens=500")


def test_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    codes = text.split("exit codes:", 1)[1]
    for code, meaning in ((EXIT_OK, "success"), (EXIT_API_ERROR, "API error"), (EXIT_USAGE, "bad usage")):
        assert f"  {code} " in codes and meaning in codes
    for code, meaning in ((EXIT_CANCELED, "canceled"), (EXIT_TIMED_OUT, "timed out"), (EXIT_INTERRUPTED, "Ctrl-C")):
        assert f"  {code} " in codes and meaning in codes
    assert len({EXIT_OK, EXIT_API_ERROR, EXIT_USAGE, EXIT_CANCELED, EXIT_TIMED_OUT, EXIT_INTERRUPTED}) == 6


def test_a_canceled_prediction_exits_3(slow_server: MockServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = slow_cli(slow_server, capsys, "create", version(LLAMA), *LONG_STORY)
    prediction_id = json.loads(out)["id"]
    assert slow_cli(slow_server, capsys, "cancel", prediction_id)[0] == 0
    code, out, err = slow_cli(slow_server, capsys, "wait", prediction_id)
    assert (code, out) == (EXIT_CANCELED, "")
    assert err.startswith("inference-api: PredictionCanceledError:") and err.count("\n") == 1


def test_a_wait_past_its_timeout_exits_4(slow_server: MockServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = slow_cli(slow_server, capsys, "create", version(LLAMA), *LONG_STORY, "--wait", "--timeout", "0.3")
    assert (code, out) == (EXIT_TIMED_OUT, "")
    assert err.startswith("inference-api: WaitTimeoutError:")


def test_bad_usage_exits_2_and_api_errors_1(cli: Invoke, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("run", LLAMA, "-i", "prompt")[0] == EXIT_USAGE
    with pytest.raises(SystemExit) as exit_info:
        cli("wait")  # a missing argument: argparse's own usage error
    assert exit_info.value.code == EXIT_USAGE
    assert capsys.readouterr().err == (  # one line, no usage block, no traceback
        "inference-api wait: the following arguments are required: id (see inference-api wait --help)\n"
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["--no-such-option"])
    assert exit_info.value.code == EXIT_USAGE and capsys.readouterr().err.count("\n") == 1
    assert cli("get", "no-such-prediction")[0] == EXIT_API_ERROR
    assert cli("run", FAIL, "-i", "prompt=x")[0] == EXIT_API_ERROR


def test_an_interruption_exits_130_and_cancels_what_create_wait_created(
    mock_server: MockServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from inference_api import waiting

    real_wait = waiting.wait

    def interrupted_wait(client: Any, prediction: Any, **kwargs: Any) -> Any:
        def on_update(update: Any) -> None:
            raise KeyboardInterrupt  # Ctrl-C while waiting

        return real_wait(client, prediction, **{**kwargs, "on_update": on_update})

    monkeypatch.setattr(waiting, "wait", interrupted_wait)
    command = ["create", version(LLAMA), *LONG_STORY, "--wait"]
    code = main(["--token", mock_server.token, "--base-url", mock_server.base_url, *command])
    out, err = capsys.readouterr()
    paths = [request.path for request in mock_server.requests if request.method == "POST"]
    assert len(paths) == 2 and paths[0] == "/v1/predictions" and paths[1].endswith("/cancel")
    prediction_id = paths[1].split("/")[-2]
    assert (code, out, err) == (
        EXIT_INTERRUPTED,
        "",
        f"inference-api: interrupted; prediction {prediction_id} was canceled\n",
    )


@pytest.mark.parametrize("stage", ["parsing", "connecting"])
def test_ctrl_c_while_starting_up_exits_130_with_one_line(
    stage: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from inference_api import _requests, connection

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    # Parsing `create` imports the generated models for its options; then `connect` imports the SDK.
    if stage == "parsing":
        monkeypatch.setattr(_requests, "add_request_options", interrupted)
    else:
        monkeypatch.setattr(connection, "connect", interrupted)
    code = main(["--token", "t0ken-123", "create", version(ECHO), "-i", "n=1"])
    assert (code, capsys.readouterr()) == (EXIT_INTERRUPTED, ("", "inference-api: interrupted\n"))


def test_a_real_sigint_during_start_up_is_one_line_and_exit_130(tmp_path: Path) -> None:
    script = tmp_path / "slow_start.py"
    script.write_text(
        "import sys, time\n"
        "import inference_api.connection as connection\n"
        "def slow_connect(*args, **kwargs):\n"
        "    print('connecting', file=sys.stderr, flush=True)\n"
        "    time.sleep(60)\n"
        "connection.connect = slow_connect\n"
        "from inference_api.cli import main\n"
        "sys.exit(main(['--token', 't0ken-123', 'get', 'abc']))\n"
    )
    with subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stderr is not None
            assert process.stderr.readline() == "connecting\n"
            process.send_signal(signal.SIGINT)
            assert process.wait(30) == EXIT_INTERRUPTED
            assert process.stderr.read() == "inference-api: interrupted\n", "one line, no traceback"
        finally:
            process.kill()  # no-op once it exited; a failing test leaves no process behind


def test_an_unreachable_host_reports_its_attempts_once(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        code = main(["--token", "t0ken-123", "--base-url", base_url, "get", "abc"])
    err = capsys.readouterr().err
    assert code == EXIT_API_ERROR
    assert err.count("attempts") == 1 and "(after 4 attempts)" in err, err


def test_help_starts_without_loading_the_sdk() -> None:
    # `inference-api --help` must not pay for httpx, the generated client or rich (timed in docs/development.md).
    probe = (
        "import sys\n"
        "from inference_api.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('httpx', 'inference_api_client', 'rich', 'attrs', 'anyio', 'importlib.metadata')\n"
        "print('loaded:', sorted(name for name in heavy if name in sys.modules), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stderr.strip() == "loaded: []", result.stderr
    assert "exit codes:" in result.stdout


# --version: the installed distribution's metadata, the one version (read from _version.py at build time).


@pytest.mark.parametrize("command", [["-m", "inference_api"], ["-m", "inference_api.cli"]])
def test_version_prints_the_installed_metadata_version(command: list[str]) -> None:
    result = subprocess.run([sys.executable, *command, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"inference-api {importlib.metadata.version('inference-api')}\n"
    assert importlib.metadata.version("inference-api") == inference_api.__version__


def test_version_of_a_source_tree_never_installed_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    expected = f"inference-api {inference_api.__version__} (not installed: the source's version)\n"
    assert capsys.readouterr().out == expected
