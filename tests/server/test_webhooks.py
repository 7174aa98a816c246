"""Webhooks: delivered to loopback receivers as the filter asks; other addresses never contacted."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from inference_api_mock.models import ECHO, LLAMA
from inference_api_mock.webhooks import is_loopback_url
from tests.server.conftest import create, wait_final


class Receiver:
    """A webhook receiver on a free loopback port, recording (event, headers, prediction)."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        received = self.deliveries

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                received.append((self.headers["Webhook-Event"], dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?secret=s3"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def wait_for(self, event: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(delivered == event for delivered, _, _ in self.deliveries):
            assert time.monotonic() < deadline, f"no {event} delivery"
            time.sleep(0.01)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiving = Receiver()
    receiving.thread.start()
    yield receiving
    receiving.server.shutdown()
    receiving.server.server_close()


def test_all_events_are_delivered_in_order_without_credentials(client: httpx.Client, receiver: Receiver) -> None:
    created = create(client, LLAMA, {"prompt": "hook", "max_new_tokens": 20}, webhook=receiver.url)
    receiver.wait_for("completed")
    final = wait_final(client, created["id"])
    events = [event for event, _, _ in receiver.deliveries]
    assert events[0] == "start" and events[-1] == "completed" and events.count("completed") == 1
    assert {"output", "logs"} <= set(events)
    assert receiver.deliveries[-1][2] == final  # the bare prediction, as GET shows it
    for _, headers, _ in receiver.deliveries:
        assert "Authorization" not in headers and headers["Content-Type"] == "application/json"


def test_filter_limits_the_events(client: httpx.Client, receiver: Receiver) -> None:
    create(client, ECHO, {"a": 1}, webhook=receiver.url, webhook_events_filter=["completed"])
    receiver.wait_for("completed")
    assert [event for event, _, _ in receiver.deliveries] == ["completed"]
    assert receiver.deliveries[0][2]["status"] == "succeeded"


def test_other_addresses_are_accepted_but_never_contacted(client: httpx.Client) -> None:
    created = create(client, ECHO, {"a": 1}, webhook="https://hooks.example.com/path?token=do-not-log")
    final = wait_final(client, created["id"])
    assert "Webhook on https://hooks.example.com not contacted" in final["logs"]
    assert "do-not-log" not in final["logs"]


def test_an_unreachable_loopback_receiver_does_not_disturb_the_prediction(client: httpx.Client) -> None:
    final = wait_final(client, create(client, ECHO, {"a": 1}, webhook="http://127.0.0.1:9/hook")["id"])
    assert final["status"] == "succeeded"


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080/x", True),
        ("http://127.3.4.5/x", True),
        ("https://localhost/x", True),
        ("http://[::1]:9000/", True),
        ("http://10.0.0.1/x", False),
        ("http://example.com/x", False),
        ("http://localhost.example.com/x", False),
        ("http://127.0.0.1.nip.io/x", False),
        ("ftp://127.0.0.1/x", False),
        ("http://127.0.0.1:99999/x", False),
        ("not a url", False),
        ("http://[::ffff:10.0.0.1]/", False),
    ],
)
def test_only_literal_loopback_addresses_count(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback
