"""`python -m inference_api_mock`, the app factory, MockServer and the pytest plugin, as users run them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from httpx_sse import EventSource

from inference_api_mock._extra import missing_dependency, raise_for_server_extra
from inference_api_mock.app import create_app
from inference_api_mock.models import ECHO, LLAMA
from inference_api_mock.serving import bind
from inference_api_mock.testing import MockServer
from tests.server.conftest import bearer

ROOT = Path(__file__).resolve().parents[2]
RUN = {"model": ECHO, "input": {"a": 1}}


@contextmanager
def serve(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`python -m inference_api_mock ...`, its first stdout line (the base URL) and the process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "inference_api_mock", "--host", "127.0.0.1", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline().strip()
        assert first_line.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else ""
        yield first_line, process
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_module_prints_base_url_once_it_accepts_connections_and_serves() -> None:
    with serve("--token", "cli-token", "--token", "second", "--speed", "500") as (base_url, _):
        # No retry loop: the URL is printed only once the server accepts connections.
        assert httpx.post(f"{base_url}/v1/run", json=RUN, headers=bearer("cli-token")).json()["data"]["output"] == {
            "a": 1
        }
        assert httpx.post(f"{base_url}/v1/run", json=RUN, headers=bearer("second")).status_code == 200
        assert httpx.post(f"{base_url}/v1/run", json=RUN, headers=bearer("other")).status_code == 401
        assert httpx.get(f"{base_url}/_mock/requests", headers=bearer("cli-token")).status_code == 404


def test_module_generates_and_prints_a_token_when_none_is_given() -> None:
    environment = {key: value for key, value in os.environ.items() if key != "MOCK_SERVER_TOKENS"}
    with serve("--speed", "500", env=environment | {"MOCK_SERVER_TOKENS": ""}) as (base_url, process):
        assert process.stdout is not None
        token_line = process.stdout.readline().strip()
        assert token_line.startswith("token: ")
        token = token_line.removeprefix("token: ")
        assert len(token) >= 24
        assert httpx.post(f"{base_url}/v1/run", json=RUN, headers=bearer(token)).status_code == 200


def test_module_reads_tokens_from_the_environment_and_enables_faults() -> None:
    with serve("--speed", "500", "--faults", env={"MOCK_SERVER_TOKENS": "env-one, env-two"}) as (base_url, _):
        headers = bearer("env-two")
        assert (
            httpx.post(
                f"{base_url}/_mock/faults", json={"route": "POST /v1/run", "status": 503}, headers=headers
            ).status_code
            == 201
        )
        # A token's faults are its own: the other token's run is answered for real.
        assert httpx.post(f"{base_url}/v1/run", json=RUN, headers=bearer("env-one")).status_code == 200
        assert httpx.post(f"{base_url}/v1/run", json=RUN, headers=headers).status_code == 503
        assert httpx.post(f"{base_url}/v1/run", json=RUN, headers=headers).status_code == 200
        assert [entry["path"] for entry in httpx.get(f"{base_url}/_mock/requests", headers=headers).json()["data"]] == [
            "/v1/run",
            "/v1/run",
        ]


def test_module_refuses_a_bad_speed() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inference_api_mock", "--speed", "0", "--token", "t"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2 and "--speed must be positive" in result.stderr


def test_app_factory_needs_tokens() -> None:
    with pytest.raises(ValueError, match="token"):
        create_app([])
    assert create_app(["t"]).state.control.faults is None


def test_mock_server_context_manager_contract() -> None:
    with MockServer(tokens=("one", "two"), speed=500.0, faults=True) as server:
        assert server.base_url.startswith("http://127.0.0.1:") and not server.base_url.endswith("/")
        assert server.token == "one" and "one" not in repr(server)
        assert httpx.post(f"{server.base_url}/v1/run", json=RUN, headers=bearer("two")).status_code == 200
        base_url = server.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url)
    with pytest.raises(TypeError):
        MockServer(tokens="one")


def test_pytest_plugin_fixture_in_a_users_test_suite(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import httpx
            from inference_api_mock.models import ECHO

            def test_first(mock_server):
                mock_server.fault("POST /v1/run", status=503)
                response = httpx.post(
                    mock_server.base_url + "/v1/run",
                    json={"model": ECHO, "input": {"n": 1}},
                    headers={"Authorization": "Bearer " + mock_server.token},
                )
                assert response.status_code == 503
                assert len(mock_server.requests) == 1

            def test_second_starts_clean(mock_server):
                assert mock_server.requests == []
                response = httpx.post(
                    mock_server.base_url + "/v1/run",
                    json={"model": ECHO, "input": {"n": 1}},
                    headers={"Authorization": "Bearer " + mock_server.token},
                )
                assert response.json()["data"]["output"] == {"n": 1}
            """
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "inference_api_mock.pytest_plugin",
            "-p",
            "no:cacheprovider",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_the_spec_is_served_without_a_token(server: MockServer) -> None:
    response = httpx.get(f"{server.base_url}/openapi.yaml")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/yaml")
    assert response.text == (ROOT / "openapi.yaml").read_text()


def test_listening_socket_says_tcp_so_asyncio_disables_nagle() -> None:
    # asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP; without it every answer
    # waits ~40 ms for the client's delayed ACK (uvicorn writes headers and body separately).
    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_stopping_ends_open_streams_and_run_waits() -> None:
    server = MockServer(tokens=("t",), speed=1.0).start()  # slow: both are still running at stop()
    seen: dict[str, object] = {}
    slow_input = {"prompt": "long", "max_new_tokens": 2000}

    def stream() -> None:
        with httpx.stream(
            "POST", f"{server.base_url}/v1/run_sse", json={"model": LLAMA, "input": slow_input}, headers=bearer("t")
        ) as response:
            seen["stream"] = [event.event for event in EventSource(response).iter_sse()]

    def run() -> None:
        response = httpx.post(
            f"{server.base_url}/v1/run", json={"model": LLAMA, "input": slow_input}, headers=bearer("t"), timeout=30
        )
        seen["run"] = (response.status_code, response.json())

    threads = [threading.Thread(target=stream, daemon=True), threading.Thread(target=run, daemon=True)]
    for thread in threads:
        thread.start()
    while len(server.app.state.store) < 2:
        time.sleep(0.01)
    server.stop()
    for thread in threads:
        thread.join(30)
    events = seen["stream"]
    assert isinstance(events, list) and events and "done" not in events  # ended, not finished
    assert seen["run"] == (503, {"detail": "The server is stopping; fetch the prediction elsewhere or run it again."})


# Without the `server` extra (or any module it or the SDK brings), each way in says in one line what to install.
# `None` in sys.modules makes `import module` raise ModuleNotFoundError, as when it is not installed.
DEPENDENCIES = ["anyio", "attrs", "starlette", "uvicorn", "jsonschema", "referencing", "yaml"]
INSTALL = 'pip install "inference-api[server]"'


def without(module: str, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    blocked = f"import sys; sys.modules[{module!r}] = None\n{code}"
    return subprocess.run([sys.executable, "-c", blocked, *args], capture_output=True, text=True, cwd=ROOT, timeout=60)


@pytest.mark.parametrize("module", DEPENDENCIES)
def test_module_without_the_server_extra_says_so_in_one_line(module: str) -> None:
    result = without(module, "import runpy; runpy.run_module('inference_api_mock', run_name='__main__')", "--port", "0")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"python -m inference_api_mock: {module} is not installed; "
        f"the mock server needs the `server` extra: {INSTALL}\n"
    )


@pytest.mark.parametrize("module", DEPENDENCIES)
def test_importing_mock_server_without_the_server_extra_names_the_extra(module: str) -> None:
    result = without(module, "from inference_api_mock.testing import MockServer")
    assert result.returncode == 1
    *_, last = result.stderr.splitlines()
    assert last == (
        f"ModuleNotFoundError: inference_api_mock.testing: {module} is not installed; "
        f"the mock server needs the `server` extra: {INSTALL}"
    )
    assert "During handling" not in result.stderr, "one error, not a chain of two"


@pytest.mark.parametrize("module", ["uvicorn", "yaml"])
def test_the_pytest_plugin_without_the_server_extra_names_the_extra(module: str, tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text("def test_it(mock_server):\n    pass\n")
    plugin = ["-p", "inference_api_mock.pytest_plugin", "-p", "no:cacheprovider", str(tmp_path)]
    result = without(module, f"import pytest; sys.exit(pytest.main({plugin!r}))")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert result.stderr.strip() == (
        f"ERROR: inference_api_mock.pytest_plugin: {module} is not installed; "
        f"the mock server needs the `server` extra: {INSTALL}"
    )


def test_a_missing_module_of_the_mock_itself_is_not_blamed_on_the_extra() -> None:
    own = ModuleNotFoundError("No module named 'inference_api_mock.nope'", name="inference_api_mock.nope")
    assert missing_dependency(own) is None
    with pytest.raises(ModuleNotFoundError) as caught:
        raise_for_server_extra(own, "inference_api_mock.testing")
    assert caught.value is own
    assert missing_dependency(ModuleNotFoundError(name="h11._util")) == "h11"
