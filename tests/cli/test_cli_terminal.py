"""The command line on a terminal: a live status line or progress bar on stderr, the result alone on stdout.

Each test runs the installed `inference-api` with its stderr on a pseudo-terminal (as in an
interactive shell) and its stdout on a pipe (as in `inference-api ... | jq`), or both piped.
"""

from __future__ import annotations

import fcntl
import http.server
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from inference_api_mock.models import IMAGE_TO_VIDEO, LLAMA
from inference_api_mock.testing import MockServer

SCRIPT = Path(sys.executable).parent / "inference-api"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
ELAPSED = r"0:00:\d\d"  # rich's TimeElapsedColumn


def environment(server: MockServer) -> dict[str, str]:
    # A clean environment: no FORCE_COLOR, NO_COLOR, TTY_COMPATIBLE or CI settings of the caller.
    return {
        "PATH": os.environ.get("PATH", ""),
        "TERM": "xterm-256color",
        "INFERENCE_API_TOKEN": server.token,
        "INFERENCE_API_BASE_URL": server.base_url,
    }


def on_a_terminal(
    server: MockServer,
    *args: str,
    until: str | None = None,
    then: Callable[[subprocess.Popen[bytes]], None] = print,
    command: tuple[str, ...] = (str(SCRIPT),),
    columns: int = 120,
) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal `columns` wide; (exit code, stdout, terminal text).

    When the terminal shows `until`, `then(process)` is called once (to send Ctrl-C, say).
    """
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    process = subprocess.Popen(
        [*command, *args], stdin=terminal, stdout=subprocess.PIPE, stderr=terminal, env=environment(server)
    )
    os.close(terminal)
    shown = b""
    try:
        while True:
            ready, _, _ = select.select([controller], [], [], 60)
            assert ready, f"no output for 60 s; so far: {shown!r}"
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if until is not None and until in ANSI.sub("", shown.decode(errors="replace")):
                then(process)
                until = None
        assert process.stdout is not None
        out = process.stdout.read().decode()
        code = process.wait(timeout=60)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    return code, out, shown.decode(errors="replace")


def piped(server: MockServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(server),
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    # Slow enough that a run lasts a few status updates, fast enough for a test.
    with MockServer(tokens=("terminal-token",), speed=20.0) as server:
        yield server


VIDEO_INPUT = ("-i", "image=https://example.com/a.jpg", "-i", "prompt=statues")


def test_create_wait_shows_a_status_line_on_a_terminal_and_prints_only_json(server: MockServer) -> None:
    code, out, terminal = on_a_terminal(server, "create", IMAGE_TO_VIDEO.split(":")[1], *VIDEO_INPUT, "--wait")
    assert code == 0, terminal
    assert json.loads(out)["status"] == "succeeded", "stdout holds the result alone"
    text = ANSI.sub("", terminal)
    assert "\x1b[?25l" in terminal, "a live display (rich hides the cursor while it runs)"
    assert re.search(rf"(starting|processing)\s+{ELAPSED}", text), text
    assert re.search(rf"succeeded\s+{ELAPSED}\s+Denoising step 50/50", text), "status, elapsed time, last log line"


def test_run_and_wait_show_the_status_line_too(server: MockServer) -> None:
    code, out, terminal = on_a_terminal(server, "run", LLAMA, "-i", "prompt=Hi", "-i", "max_new_tokens=8")
    assert code == 0 and out.startswith("You asked")
    shown = ANSI.sub("", terminal)
    assert re.search(rf"running\s+{ELAPSED}", shown), "POST /v1/run says nothing until the end: the time"
    assert re.search(rf"succeeded\s+{ELAPSED}\s+Generated 8 tokens", shown)

    created = json.loads(piped(server, "create", IMAGE_TO_VIDEO.split(":")[1], *VIDEO_INPUT).stdout)
    code, out, terminal = on_a_terminal(server, "wait", created["id"])
    assert code == 0 and json.loads(out)["id"] == created["id"]
    assert re.search(rf"succeeded\s+{ELAPSED}", ANSI.sub("", terminal))


@pytest.fixture
def big_file_url() -> Iterator[str]:
    """A 4 MB file on a local HTTP server: many chunks, so the bar moves and has a speed."""
    body = bytes(range(256)) * (4 * 4096)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}/big.bin"
        httpd.shutdown()


def test_download_shows_a_progress_bar_with_size_and_speed(
    server: MockServer, big_file_url: str, tmp_path: Path
) -> None:
    code, out, terminal = on_a_terminal(server, "download", big_file_url, str(tmp_path))
    assert code == 0 and out == f"saved 4194304 bytes to {tmp_path / 'big.bin'}\n"
    text = ANSI.sub("", terminal)
    assert "big.bin ━" in text, "the name and a bar"
    assert "4.2/4.2 MB" in text, "bytes done / in all"
    assert re.search(r"[\d.]+ (kB|MB|GB)/s", text), "the speed"


def test_piped_commands_print_only_the_result(server: MockServer, tmp_path: Path) -> None:
    result = piped(server, "create", IMAGE_TO_VIDEO.split(":")[1], *VIDEO_INPUT, "--wait")
    assert result.returncode == 0 and result.stderr == ""
    prediction = json.loads(result.stdout)
    result = piped(server, "wait", prediction["id"])
    assert result.stderr == "" and json.loads(result.stdout) == prediction
    result = piped(server, "run", LLAMA, "-i", "prompt=Hi", "-i", "max_new_tokens=8", "--json")
    assert result.stderr == "" and json.loads(result.stdout)["status"] == "succeeded"
    result = piped(server, "download", prediction["output"], str(tmp_path / "v.mp4"))
    assert result.stderr == "" and result.stdout.startswith("saved ")


def test_quiet_turns_the_display_off_on_a_terminal(server: MockServer) -> None:
    code, out, terminal = on_a_terminal(server, "--quiet", "run", LLAMA, "-i", "prompt=Hi", "-i", "max_new_tokens=8")
    assert code == 0 and out.startswith("You asked")
    assert terminal == ""


def test_ctrl_c_on_a_terminal_cancels_the_prediction_and_exits_130() -> None:
    with MockServer(tokens=("ctrl-c-token",), speed=1.0) as slow:
        code, out, terminal = on_a_terminal(
            slow,
            "create",
            LLAMA.split(":")[1],
            "--wait",
            *("-i", "prompt=A long story", "-i", "max_new_tokens=500"),
            until="Booting",
            then=lambda process: process.send_signal(signal.SIGINT),
        )
        canceled = [request.path for request in slow.requests if request.path.endswith("/cancel")]
    assert (code, out) == (130, "")
    assert re.search(r"inference-api: interrupted; prediction \w+ was canceled", ANSI.sub("", terminal)), terminal
    assert len(canceled) == 1
    prediction_id = canceled[0].split("/")[-2]
    assert f"prediction {prediction_id} was canceled" in ANSI.sub("", terminal)


@pytest.mark.parametrize("columns", [60, 80])
def test_a_narrow_terminal_cuts_the_model_name_not_the_status_or_the_time(server: MockServer, columns: int) -> None:
    code, out, terminal = on_a_terminal(
        server, "run", LLAMA, "-i", "prompt=Hi", "-i", "max_new_tokens=8", columns=columns
    )
    assert code == 0 and out.startswith("You asked")
    shown = ANSI.sub("", terminal)
    assert re.search(rf"running\s+{ELAPSED}\s+meta/llama", shown), shown
    assert re.search(rf"succeeded\s+{ELAPSED}", shown), shown


def test_without_rich_a_terminal_gets_the_result_alone(server: MockServer) -> None:
    # Without the `cli` extra: `None` in sys.modules makes `import rich` fail as if it were not installed.
    without_rich = "import sys; sys.modules['rich'] = None; from inference_api.cli import main; sys.exit(main())"
    code, out, terminal = on_a_terminal(
        server, "run", LLAMA, "-i", "prompt=Hi", "-i", "max_new_tokens=8", command=(sys.executable, "-c", without_rich)
    )
    assert (code, terminal) == (0, "")
    assert out.startswith("You asked")
