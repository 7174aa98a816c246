"""Case 8: the mock server, faced with hostile clients, stays fair, well-formed and bounded.

- `/_mock/*` is per token: a caller sees, plans and clears its own requests and faults only.
- A fault plan no HTTP server could send (1xx; a body on 204 or 304) is refused with 422.
- What predictions hold is bounded (count and bytes): the oldest finished go first, and when the
  unfinished ones alone fill the store, new ones get 429 with Retry-After.
- A client that disconnects mid-upload is one line in the log, not a traceback.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from inference_api_mock.models import ECHO, LLAMA
from inference_api_mock.testing import MockServer

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
        assert store.usage.bytes <= budget
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
