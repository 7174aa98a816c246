"""Case 8: the mock server, faced with hostile clients, stays fair, well-formed and bounded.

- `/_mock/*` is per token: a caller sees, plans and clears its own requests and faults only.
- A fault plan no HTTP server could send (1xx; a body on 204 or 304) is refused with 422.
- What predictions hold is bounded (count and bytes): the oldest finished go first, and when the
  unfinished ones alone fill the store, new ones get 429 with Retry-After.
- A client that disconnects mid-upload is one line in the log, not a traceback.
- Case 12: 1,200 connections that never finish their headers, held against a mock with a 1,024
  open-file limit, do not stop a well-behaved client; running out of descriptors anyway is a line
  in the log, not a traceback storm.
- Case 15: a malformed chunk after an early 413 closes the connection without a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from inference_api_mock.models import ECHO, LLAMA
from inference_api_mock.testing import MockServer

if sys.platform != "win32":
    import resource

ALICE, BOB = "alice-token", "bob-token"
RUN = {"model": ECHO, "input": {"n": 1}}
GET_ROUTE = "GET /v1/predictions/{prediction_id}"


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(tokens=(ALICE, BOB), speed=500.0, faults=True) as running:
        yield running


def client_of(server: MockServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_a_token_sees_plans_and_clears_only_its_own(server: MockServer) -> None:
    server.clear_faults()
    server.clear_requests()
    with client_of(server, ALICE) as alice, client_of(server, BOB) as bob:
        assert alice.post("/_mock/faults", json={"route": "POST /v1/run", "status": 503, "times": 2}).status_code == 201
        assert bob.post("/v1/run", json=RUN).status_code == 200, "Alice's faults are not Bob's"
        assert bob.delete("/_mock/faults").status_code == 204, "Bob clears only his own plan"
        assert alice.post("/v1/run", json=RUN).status_code == 503
        bob_log = bob.get("/_mock/requests").json()["data"]
        alice_log = alice.get("/_mock/requests").json()["data"]
        assert alice.delete("/_mock/faults").status_code == 204
        assert alice.post("/v1/run", json=RUN).status_code == 200
    assert [entry["path"] for entry in bob_log] == ["/v1/run"]
    assert [entry["path"] for entry in alice_log] == ["/v1/run"]
    assert len(server.requests) == 3, "in-process, a test sees every token's requests"


def test_a_fault_planned_in_process_applies_to_every_token(server: MockServer) -> None:
    server.clear_faults()
    server.fault("POST /v1/run", status=503, times=2)
    with client_of(server, ALICE) as alice, client_of(server, BOB) as bob:
        assert alice.post("/v1/run", json=RUN).status_code == 503
        assert bob.post("/v1/run", json=RUN).status_code == 503


@pytest.mark.parametrize(
    "fields",
    [
        {"status": 100},
        {"status": 101},
        {"status": 199},
        {"status": 204, "body": "hello"},
        {"status": 304, "malformed_json": True},
        {"status": 204, "close_mid_body": True},
    ],
    ids=["100", "101", "199", "204 with a body", "304 with malformed JSON", "204 cut mid-body"],
)
def test_fault_plans_that_cannot_be_sent_are_refused(server: MockServer, fields: dict[str, object]) -> None:
    with client_of(server, ALICE) as alice:
        response = alice.post("/_mock/faults", json={"route": "POST /v1/run", **fields})
        assert response.status_code == 422, response.text
        assert isinstance(response.json()["detail"], str)
        assert alice.post("/v1/run", json=RUN).status_code == 200, "nothing was planned"


@pytest.mark.parametrize("status", [204, 304])
def test_a_bodiless_status_fault_is_sent_well_formed(server: MockServer, status: int) -> None:
    with client_of(server, ALICE) as alice:
        assert alice.post("/_mock/faults", json={"route": "POST /v1/run", "status": status}).status_code == 201
        response = alice.post("/v1/run", json=RUN)
        assert (response.status_code, response.content) == (status, b"")
        assert alice.post("/v1/run", json=RUN).status_code == 200, "the connection is still usable"


def test_what_predictions_hold_is_bounded_oldest_finished_first() -> None:
    budget = 4 * 1024 * 1024
    big = {"version": ECHO.split(":")[1], "input": {"blob": "x" * 900_000}}
    with MockServer(tokens=(ALICE,), speed=5000.0, max_stored_bytes=budget) as server, client_of(server, ALICE) as c:
        ids = []
        for _ in range(12):
            created = c.post("/v1/predictions", json=big)
            assert created.status_code == 201, created.text
            ids.append(created.json()["data"]["id"])
            time.sleep(0.02)  # the echo model finishes at once at this speed
        store = server.app.state.store
        assert store.bytes_held <= budget
        assert c.get(f"/v1/predictions/{ids[0]}").status_code == 404, "the oldest finished one was forgotten"
        assert c.get(f"/v1/predictions/{ids[-1]}").status_code == 200


def test_when_unfinished_predictions_fill_the_store_new_ones_wait_with_429() -> None:
    slow = {"version": LLAMA.split(":")[1], "input": {"prompt": "x" * 600_000, "max_new_tokens": 500}}
    with MockServer(tokens=(ALICE,), speed=0.01, max_stored_bytes=2 * 1024 * 1024) as server:
        with client_of(server, ALICE) as c:
            answers = [c.post("/v1/predictions", json=slow) for _ in range(5)]
        codes = [answer.status_code for answer in answers]
        assert codes[:3] == [201, 201, 201] and codes[3:] == [429, 429], codes
        assert answers[-1].headers["retry-after"] == "1"
        assert "unfinished ones fill them" in answers[-1].json()["detail"]


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("path", ["/v1/predictions", "/v1/run", "/_mock/faults"])
def test_a_client_gone_mid_upload_is_one_line_in_the_log(server: MockServer, path: str) -> None:
    records = Records()
    watched = [logging.getLogger(name) for name in ("inference_api_mock", "uvicorn", "uvicorn.error")]
    for logger in watched:
        logger.addHandler(records)
    level = watched[0].level
    watched[0].setLevel(logging.INFO)
    try:
        host, port = server.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            head = f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ALICE}\r\n"
            head += "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            sock.sendall(head.encode() + b'{"version": "' + b"a" * 5000)
            time.sleep(0.2)
        deadline = time.monotonic() + 5
        while not records.records and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # anything else it would log comes now
    finally:
        for logger in watched:
            logger.removeHandler(records)
        watched[0].setLevel(level)
    lines = [(record.name, record.getMessage()) for record in records.records]
    assert lines == [("inference_api_mock", f"client disconnected before sending all of POST {path}")], lines
    assert all(record.exc_info is None for record in records.records)
    with client_of(server, ALICE) as alice:
        assert alice.post("/v1/run", json=RUN).status_code == 200, "the server carries on"
    assert json.dumps(lines).count("Traceback") == 0


SLOW_CONNECTIONS = 1200
needs_setrlimit = pytest.mark.skipif(sys.platform == "win32", reason="open-file limits are set with setrlimit")
SERVER_FILE_LIMIT = 1024
ROOT = Path(__file__).resolve().parents[2]
SLOW_HEAD = b"POST /v1/run HTTP/1.1\r\nHost: x\r\nX-Never-Ending: "


@contextlib.contextmanager
def open_file_limit_of_this_process(needed: int) -> Iterator[None]:
    """Raise this process's soft limit on open files to `needed` (within the hard limit) meanwhile."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"the hard limit on open files ({hard}) is below the {needed} this test holds")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@contextlib.contextmanager
def mock_process(log: Path, file_limit: int, *options: str) -> Iterator[str]:
    """`python -m inference_api_mock` with a soft limit of `file_limit` open files; yields its URL."""

    def limit_open_files() -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (file_limit, hard))

    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "inference_api_mock", "--port", "0", "--token", ALICE, "--speed", "500", *options],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=limit_open_files,  # only setrlimit, between fork and exec
        )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), log.read_text()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
        if process.stdout is not None:
            process.stdout.close()


@contextlib.contextmanager
def slow_connections(url: str, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections, each with a request head begun and never finished."""
    host, port = url.removeprefix("http://").split(":")
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection((host, int(port)), timeout=10)
            held.append(sock)
            with contextlib.suppress(OSError):  # the server may have closed it already
                sock.sendall(SLOW_HEAD)
        yield held
    finally:
        for sock in held:
            sock.close()


def well_behaved_answers(url: str, count: int) -> list[int]:
    """`count` runs, each on a new connection; a 5 s timeout stands for "the client gives up"."""
    statuses = []
    for number in range(count):
        # A new connection each time: each has to get past the slow ones to be accepted.
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ALICE}"}, timeout=5.0) as client:
            statuses.append(client.post("/v1/run", json={"model": ECHO, "input": {"n": number}}).status_code)
    return statuses


@needs_setrlimit
@pytest.mark.timeout(120)
def test_slow_connections_do_not_lock_a_well_behaved_client_out(tmp_path: Path) -> None:
    """The issue's done-when: 1,200 slow connections held against a mock limited to 1,024 open files.

    The well-behaved client's timeout (5 s, the 2 s of the done-when with room for a loaded
    machine) is a behavioural bound: before the fix every one of its requests timed out.
    """
    log = tmp_path / "stderr.log"
    with (
        open_file_limit_of_this_process(SLOW_CONNECTIONS + 200),
        mock_process(log, SERVER_FILE_LIMIT) as url,
        slow_connections(url, SLOW_CONNECTIONS),
    ):
        assert well_behaved_answers(url, 10) == [200] * 10
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and "out of system resource" not in text, text[:2000]
    assert len(text.splitlines()) <= 5, text[:2000]


@needs_setrlimit
@pytest.mark.timeout(120)
def test_running_out_of_file_descriptors_is_one_line_not_a_traceback_storm(tmp_path: Path) -> None:
    # A connection limit above what the open-file limit allows: accept() itself fails (EMFILE).
    log = tmp_path / "stderr.log"
    options = ("--max-connections", "2000", "--request-read-timeout", "1")
    with open_file_limit_of_this_process(800), mock_process(log, 256, *options) as url:
        with slow_connections(url, 400):
            time.sleep(0.5)  # the server accepts what it can and fails on the rest
        # The slow ones are gone (closed here, and timed out there): the server serves again.
        assert well_behaved_answers(url, 2) == [200, 200]
    lines = log.read_text(errors="replace").splitlines()
    failures = [line for line in lines if "accepting connections failed" in line]
    assert failures, lines[:20]
    assert "Too many open files" in failures[0]
    assert len(failures) <= 2, lines[:20]
    assert not any("Traceback" in line for line in lines), lines[:40]


def test_a_malformed_chunk_after_an_early_413_is_no_traceback(server: MockServer) -> None:
    records = Records()
    watched = [logging.getLogger(name) for name in ("asyncio", "uvicorn.error", "inference_api_mock")]
    for logger in watched:
        logger.addHandler(records)
    try:
        host, port = server.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            head = f"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ALICE}\r\n"
            head += "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            chunk = b"a" * (2 * 1024 * 1024)  # over the 1 MiB limit: answered 413 before the end
            sock.sendall(head.encode() + b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer:
                answer += sock.recv(4096)
            assert answer.startswith(b"HTTP/1.1 413 "), answer
            with contextlib.suppress(OSError):
                sock.sendall(b"not-a-chunk-size\r\nabc\r\n")
            rest = b""
            with contextlib.suppress(OSError):
                while piece := sock.recv(4096):
                    rest += piece
        assert b"HTTP/1.1 400" not in rest, "no second answer to a request already answered"
    finally:
        for logger in watched:
            logger.removeHandler(records)
    assert all(record.exc_info is None for record in records.records), [r.getMessage() for r in records.records]
    assert len(records.records) <= 1, [record.getMessage() for record in records.records]
    with client_of(server, ALICE) as alice:
        assert alice.post("/v1/run", json=RUN).status_code == 200, "the server carries on"


def test_a_mock_route_refuses_a_declared_300_mib_body_without_reading_it(server: MockServer) -> None:
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        head = f"POST /_mock/faults HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ALICE}\r\n"
        head += f"Content-Type: application/json\r\nContent-Length: {300 * 1024 * 1024}\r\n\r\n"
        sock.sendall(head.encode() + b'{"route": "')
        answer = b""
        while b"\r\n\r\n" not in answer:  # the 5 s timeout stands for "the server waits for the body"
            piece = sock.recv(4096)
            assert piece, answer
            answer += piece
    assert answer.startswith(b"HTTP/1.1 413 "), answer


def test_a_mock_route_stops_reading_a_chunked_body_at_the_limit(server: MockServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"route": "POST /v1/run", "body": "'
        for _ in range(64):  # 4 MiB in all, past the 1 MiB limit
            yield b"a" * 65536

    with client_of(server, ALICE) as alice:
        response = alice.post("/_mock/faults", content=chunks(), headers={"Content-Type": "application/json"})
        assert response.status_code == 413, response.text
        assert "larger than 1048576 bytes" in response.json()["detail"]
        assert alice.post("/v1/run", json=RUN).status_code == 200, "nothing was planned"


# Case 14: per-token quotas. The limits are lowered through the components' public attributes, so
# that a few dozen requests reach them (the defaults: 10,000 predictions, 1,000 unfinished and
# 1,000 fault plans per token).
CAROL = "carol-token"
ECHO_CREATE = {"version": ECHO.split(":")[1], "input": {"n": 1}}
SLOW_CREATE = {"version": LLAMA.split(":")[1], "input": {"prompt": "a long one", "max_new_tokens": 500}}


@pytest.fixture
def tenants() -> Iterator[MockServer]:
    with MockServer(tokens=(ALICE, BOB, CAROL), speed=5000.0, faults=True) as running:
        yield running


def created_id(client: httpx.Client, body: Mapping[str, object]) -> str:
    response = client.post("/v1/predictions", json=body)
    assert response.status_code == 201, response.text
    prediction_id: str = response.json()["data"]["id"]
    return prediction_id


def test_another_tokens_predictions_do_not_evict_mine(tenants: MockServer) -> None:
    tenants.app.state.store.max_predictions = 20
    with client_of(tenants, ALICE) as alice, client_of(tenants, BOB) as bob:
        mine = created_id(alice, ECHO_CREATE)
        for _ in range(30):  # over the limit of 20: Bob's own oldest finished ones go
            bob.post("/v1/predictions", json=ECHO_CREATE)
            time.sleep(0.005)  # the echo model finishes at once at this speed
        assert alice.get(f"/v1/predictions/{mine}").status_code == 200
        assert len(tenants.app.state.store) <= 21


def test_another_tokens_unfinished_predictions_do_not_throttle_mine() -> None:
    with MockServer(tokens=(ALICE, BOB), speed=0.01) as server:
        server.app.state.store.max_unfinished = 3
        with client_of(server, ALICE) as alice, client_of(server, BOB) as bob:
            answers = [bob.post("/v1/predictions", json=SLOW_CREATE).status_code for _ in range(4)]
            assert answers == [201, 201, 201, 429], "Bob's own limit"
            assert alice.post("/v1/predictions", json=SLOW_CREATE).status_code == 201, "Alice's is untouched"


def test_another_tokens_stored_bytes_do_not_throttle_mine() -> None:
    slow = {"version": LLAMA.split(":")[1], "input": {"prompt": "x" * 600_000, "max_new_tokens": 500}}
    with (
        MockServer(tokens=(ALICE, BOB), speed=0.01, max_stored_bytes=2 * 1024 * 1024) as server,
        client_of(server, ALICE) as alice,
        client_of(server, BOB) as bob,
    ):
        assert [bob.post("/v1/predictions", json=slow).status_code for _ in range(4)][-1] == 429
        assert alice.post("/v1/predictions", json=slow).status_code == 201


def test_a_token_has_a_limited_number_of_fault_plans_and_others_do_not_see_them(tenants: MockServer) -> None:
    tenants.app.state.control.faults.max_plans = 50
    plan = {"route": GET_ROUTE, "status": 503}
    with client_of(tenants, ALICE) as alice, client_of(tenants, BOB) as bob:
        assert [bob.post("/_mock/faults", json=plan).status_code for _ in range(50)] == [201] * 50
        refused = bob.post("/_mock/faults", json=plan)
        assert refused.status_code == 422 and "50 fault plans" in refused.json()["detail"], refused.text
        mine = created_id(alice, ECHO_CREATE)
        assert alice.get(f"/v1/predictions/{mine}").status_code == 200, "Bob's plans are not Alice's"
        assert alice.post("/_mock/faults", json=plan).status_code == 201, "Alice's own quota is whole"
        assert bob.delete("/_mock/faults").status_code == 204
        assert bob.post("/_mock/faults", json=plan).status_code == 201, "cleared, Bob may plan again"


def test_floods_from_other_tokens_or_no_token_leave_my_request_log_alone(tenants: MockServer) -> None:
    tenants.app.state.control.requests.max_requests = 20
    with client_of(tenants, ALICE) as alice, client_of(tenants, BOB) as bob, client_of(tenants, "wrong") as nobody:
        alice.post("/v1/run", json=RUN)
        for _ in range(30):
            assert nobody.post("/v1/run", json=RUN).status_code == 401
            bob.get("/v1/predictions/doesnotexist")
        logged = alice.get("/_mock/requests").json()["data"]
        assert [(entry["method"], entry["path"]) for entry in logged] == [("POST", "/v1/run")]
        assert len(bob.get("/_mock/requests").json()["data"]) == 20, "Bob's own log is cut at its limit"
    everything = tenants.requests
    assert [request.owner is None for request in everything].count(True) == 20, "no token: a log of its own"
    assert sum(request.path == "/v1/run" and request.owner is not None for request in everything) == 1


def test_beyond_max_tokens_the_least_recently_used_tokens_data_is_forgotten() -> None:
    with MockServer(tokens=(ALICE, BOB, CAROL), speed=5000.0, faults=True, max_tokens=2) as server:
        clients = {token: client_of(server, token) for token in (ALICE, BOB, CAROL)}
        try:
            ids = {ALICE: created_id(clients[ALICE], ECHO_CREATE)}
            assert (
                clients[ALICE].post("/_mock/faults", json={"route": "POST /v1/run", "status": 503}).status_code == 201
            )
            ids[BOB] = created_id(clients[BOB], ECHO_CREATE)
            ids[CAROL] = created_id(clients[CAROL], ECHO_CREATE)  # a third token: Alice's data goes
            assert clients[BOB].get(f"/v1/predictions/{ids[BOB]}").status_code == 200
            assert clients[ALICE].get(f"/v1/predictions/{ids[ALICE]}").status_code == 404
            assert clients[ALICE].post("/v1/run", json=RUN).status_code == 200, "her fault plan went too"
            logged = clients[ALICE].get("/_mock/requests").json()["data"]
            assert [entry["path"] for entry in logged][:1] == [f"/v1/predictions/{ids[ALICE]}"], logged
        finally:
            for client in clients.values():
                client.close()
