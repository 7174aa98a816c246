"""Connections are bounded: a deadline for receiving a whole request, and a limit on how many are open."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from inference_api_mock.__main__ import parse_args
from inference_api_mock.models import ECHO
from inference_api_mock.serving import RateLimitedLog, default_max_connections
from inference_api_mock.testing import MockServer
from tests.server.conftest import TOKEN, bearer

RUN = {"model": ECHO, "input": {"a": 1}}
GIVE_UP_SECONDS = 10.0  # how long a test waits for the server to close a connection before failing


@pytest.fixture(scope="module")
def quick() -> Iterator[MockServer]:
    """A server whose clients get half a second to send a whole request."""
    with MockServer(tokens=(TOKEN,), speed=500.0, faults=True, request_read_timeout=0.5) as running:
        yield running


def connect(server: MockServer) -> socket.socket:
    host, port = server.base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=GIVE_UP_SECONDS)


def closed_by_server(sock: socket.socket, trickle: bytes = b"") -> bool:
    """Whether the server closes `sock` within GIVE_UP_SECONDS, while `trickle` is sent a byte at a time."""
    sock.settimeout(0.05)
    deadline = time.monotonic() + GIVE_UP_SECONDS
    sent = 0
    while time.monotonic() < deadline:
        try:
            if sent < len(trickle):
                sock.sendall(trickle[sent : sent + 1])
                sent += 1
            if sock.recv(4096) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:  # reset, or a send to a closed connection
            return True
    return False


def test_a_connection_that_sends_nothing_is_closed(quick: MockServer) -> None:
    with connect(quick) as sock:
        assert closed_by_server(sock)


def test_a_request_head_trickled_a_byte_at_a_time_is_cut_at_the_deadline(quick: MockServer) -> None:
    # Each byte arrives well within any per-read timeout; the whole head never does.
    head = b"GET /openapi.yaml HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 1000
    with connect(quick) as sock:
        assert closed_by_server(sock, trickle=head)


def test_a_body_trickled_a_byte_at_a_time_is_cut_at_the_deadline(quick: MockServer) -> None:
    head = f"POST /v1/run HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
    head += "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    with connect(quick) as sock:
        sock.sendall(head.encode())
        assert closed_by_server(sock, trickle=b"a" * 1000)


def test_an_answer_slower_than_the_deadline_is_not_cut(quick: MockServer) -> None:
    # The deadline covers receiving the request; answering it may take as long as it takes.
    quick.fault("POST /v1/run", delay=1.0)
    try:
        with httpx.Client(base_url=quick.base_url, headers=bearer(TOKEN), timeout=GIVE_UP_SECONDS) as client:
            assert client.post("/v1/run", json=RUN).status_code == 200
            assert client.post("/v1/run", json=RUN).status_code == 200, "the kept-alive connection, or a new one"
    finally:
        quick.clear_faults()


def test_one_connection_over_the_limit_closes_the_one_waiting_longest() -> None:
    with MockServer(tokens=(TOKEN,), speed=500.0, max_connections=4) as server:
        idle = [connect(server) for _ in range(4)]
        try:
            time.sleep(0.2)  # all four are counted before the next one comes
            with httpx.Client(base_url=server.base_url, headers=bearer(TOKEN), timeout=GIVE_UP_SECONDS) as client:
                assert client.post("/v1/run", json=RUN).status_code == 200
            assert closed_by_server(idle[0]), "the oldest idle connection made room"
        finally:
            for sock in idle:
                sock.close()


def test_over_the_limit_when_all_are_answering_the_newcomer_is_closed() -> None:
    with MockServer(tokens=(TOKEN,), speed=500.0, faults=True, max_connections=2) as server:
        server.fault("POST /v1/run", delay=2.0, times=2)
        statuses: list[int] = []

        def run() -> None:
            with httpx.Client(base_url=server.base_url, headers=bearer(TOKEN), timeout=GIVE_UP_SECONDS) as client:
                statuses.append(client.post("/v1/run", json=RUN).status_code)

        busy = [threading.Thread(target=run) for _ in range(2)]
        for thread in busy:
            thread.start()
        try:
            deadline = time.monotonic() + GIVE_UP_SECONDS
            while len(server.requests) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            with connect(server) as newcomer:
                assert closed_by_server(newcomer), "no idle connection to close: the newcomer goes"
        finally:
            for thread in busy:
                thread.join(GIVE_UP_SECONDS)
        assert statuses == [200, 200], "the requests being answered were not cut"


@pytest.mark.parametrize(
    ("file_limit", "expected"),
    [(1024, 1024 - 64 - 3 * 64), (256, 256 - 64 - 3 * 16), (100, 100 - 64 - 3 * 8), (64, 8), (1_000_000, 4096)],
)
def test_the_default_limit_leaves_room_for_the_server_and_an_accept_batch(file_limit: int, expected: int) -> None:
    assert default_max_connections(file_limit) == expected


def test_the_command_line_takes_the_connection_limits() -> None:
    args = parse_args(["--max-connections", "50", "--request-read-timeout", "2.5"])
    assert (args.max_connections, args.request_read_timeout) == (50, 2.5)
    assert parse_args([]).max_connections is None
    for bad in (["--max-connections", "0"], ["--request-read-timeout", "0"]):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_the_rate_limited_log_says_how_many_it_held_back(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    log = RateLimitedLog(interval=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="inference_api_mock"):
        for _ in range(100):
            log(logging.WARNING, "limit", "the limit")
        log(logging.INFO, "timeout", "a timeout")
    assert [record.getMessage() for record in caplog.records] == ["the limit", "a timeout"]
    now[0] = 10.0
    with caplog.at_level(logging.INFO, logger="inference_api_mock"):
        log(logging.WARNING, "limit", "the limit")
    assert caplog.records[-1].getMessage() == "the limit (100 times since the last such line)"


def test_help_states_the_limits(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    text = capsys.readouterr().out
    for option in ("--max-connections", "--request-read-timeout", "--max-tokens", "--max-stored-bytes"):
        assert text.count(option) >= 2, f"{option}: an option, and in the limits it changes"
    assert "Limits, so that" in text and "per token" in text
