"""Case 6: whatever a server echoes back, the token appears in no error, repr, chained cause or log.

Each scenario is a server that puts the caller's token somewhere in its answer: an event's data,
type or id, a done reason, a header, the status line, a broken chunk line, a URL it hands out,
a prediction's id, error or status. Every call runs against it in every mode, with logging at
DEBUG; the token must not appear in what any call raised (message, repr and the whole formatted
chain of causes and contexts) nor in any log record. The CLI's output is checked the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from inference_api.cli import main
from inference_api.errors import APIError
from tests.hostile import harness
from tests.hostile.answers import chunked, events, is_stream, prediction, send, token_of
from tests.hostile.harness import PREDICTION_ID, TOKEN
from tests.hostile.rawserver import Connection, Handler, RawServer, Request

Answer = Callable[[Connection, Request, str], None]


def scenario(on_stream: Answer | None = None, on_json: Answer | None = None, on_any: Answer | None = None) -> Handler:
    """A server: `on_any` answers everything, else streams and JSON routes apart (default: plain answers)."""

    def handle(connection: Connection) -> None:
        request = connection.request()
        token = token_of(request)
        if on_any is not None:
            on_any(connection, request, token)
        elif is_stream(request):
            (on_stream or (lambda c, r, t: events(c, b"id: 2\nevent: done\ndata: {}\n\n")))(connection, request, token)
        elif request.path.startswith("/files/"):
            send(connection, "200 OK", "video/mp4", b"\x00" * 10)
        else:
            (on_json or (lambda c, r, t: prediction(c, r, status="succeeded")))(connection, request, token)

    return handle


SCENARIOS: dict[str, Handler] = {
    "error event, JSON detail": scenario(
        on_stream=lambda c, r, t: events(
            c, b'id: 2\nevent: error\ndata: {"detail": "bad token ' + t.encode() + b'"}\n\n'
        )
    ),
    "error event, text": scenario(on_stream=lambda c, r, t: events(c, f"event: error\ndata: no {t}\n\n".encode())),
    "error event, detail object": scenario(
        on_stream=lambda c, r, t: events(c, f'event: error\ndata: {{"detail": {{"{t}": [1]}}}}\n\n'.encode())
    ),
    "done event reason": scenario(
        on_stream=lambda c, r, t: events(c, f'event: done\ndata: {{"reason": "{t}"}}\n\n'.encode())
    ),
    "event type and id, then a drop": scenario(
        on_stream=lambda c, r, t: events(c, f"id: {t}\nevent: {t}\ndata: x\n\n".encode(), "Retry-After: 0")
    ),
    "stream content type": scenario(on_stream=lambda c, r, t: send(c, "200 OK", f"text/{t}", b"hello")),
    "broken chunk line (streams)": scenario(on_stream=lambda c, r, t: chunked(c, t)),
    "broken chunk line (everything)": scenario(on_any=lambda c, r, t: chunked(c, t)),
    "chunk size line with the token after garbage": scenario(on_any=lambda c, r, t: chunked(c, f"zz {t}")),
    "request id on a body that is not JSON": scenario(
        on_json=lambda c, r, t: send(c, "200 OK", "application/json", b"{oops", f"X-Request-Id: {t}")
    ),
    "request id on a 500": scenario(
        on_any=lambda c, r, t: send(c, "500 Internal Server Error", "application/json", b"{}", f"X-Request-Id: {t}")
    ),
    "status line reason": scenario(on_any=lambda c, r, t: send(c, f"599 {t}", "text/plain", b"no")),
    "status line garbage": scenario(on_any=lambda c, r, t: c.send(f"HTTP/1.1 2{t}\r\n\r\n".encode())),
    "header line garbage": scenario(
        on_any=lambda c, r, t: c.send(f"HTTP/1.1 200 OK\r\nX {t}: y\r\nContent-Length: 0\r\n\r\n".encode())
    ),
    "retry-after": scenario(
        on_any=lambda c, r, t: send(c, "503 Service Unavailable", "application/json", b"{}", f"Retry-After: {t}")
    ),
    "error body": scenario(
        on_any=lambda c, r, t: send(c, "401 Unauthorized", "application/json", json.dumps({"detail": t}).encode())
    ),
    "HTML error page": scenario(on_any=lambda c, r, t: send(c, "502 Bad Gateway", "text/html", f"<p>{t}</p>".encode())),
    "body that is not JSON": scenario(on_json=lambda c, r, t: send(c, "200 OK", "text/plain", t.encode())),
    "redirect to a path with the token": scenario(
        on_any=lambda c, r, t: (
            send(c, "500 Internal Server Error", "text/plain", b"no")
            if r.path.startswith("/moved/")
            else send(c, "307 Temporary Redirect", "text/plain", b"", f"Location: /moved/{t}")
        )
    ),
    "stream URL with the token": scenario(
        on_json=lambda c, r, t: prediction(
            c, r, status="processing", urls={"get": "x", "cancel": "x", "stream": f"{c.server.base_url}/s/{t}/stream"}
        ),
        on_stream=lambda c, r, t: send(c, "404 Not Found", "application/json", b'{"detail": "gone"}'),
    ),
    "prediction id": scenario(on_json=lambda c, r, t: prediction(c, r, id=t, status="failed", error="boom")),
    "prediction error": scenario(on_json=lambda c, r, t: prediction(c, r, status="failed", error=t)),
    "prediction status, unknown": scenario(on_json=lambda c, r, t: prediction(c, r, status=t)),
    "prediction status, not a string": scenario(on_json=lambda c, r, t: prediction(c, r, status={"token": t})),
    "prediction status, final-looking": scenario(on_json=lambda c, r, t: prediction(c, r, status="Done", id=t)),
}


DEADLINE = 1.5


def leaks(text: str) -> bool:
    return TOKEN in text


def test_the_token_appears_in_no_error_and_no_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # Every scenario in every mode at once (a server each): one deadline for the lot.
    results = harness.run_everywhere(SCENARIOS, tmp_path, deadline=DEADLINE, timeout=DEADLINE / 2)
    problems = []
    for (name, mode), outcomes in results.items():
        for outcome in outcomes:
            if outcome.error is not None and not isinstance(outcome.error, APIError):
                problems.append(f"{name}, {outcome.call} ({mode}): untyped {outcome.error!r}")
            if leaks(outcome.shown()):
                problems.append(f"{name}, {outcome.call} ({mode}): {outcome.shown()}")
    assert not problems, "\n\n".join(problems)
    logged = [caplog.text, *(str(record.__dict__) for record in caplog.records)]
    assert not any(leaks(text) for text in logged), [line for line in caplog.text.splitlines() if leaks(line)]


CLI_COMMANDS = {
    "get": ["get", PREDICTION_ID],
    "cancel": ["cancel", PREDICTION_ID],
    "wait": ["wait", PREDICTION_ID, "--timeout", "2"],
    "run": ["run", harness.MODEL, "-i", "prompt=hi"],
    "run --json": ["run", harness.MODEL, "-i", "prompt=hi", "--json"],
    "stream": ["stream", harness.MODEL, "-i", "prompt=hi"],
    "create --wait": ["create", harness.VERSION, "-i", "prompt=hi", "--wait", "--timeout", "2"],
}


def echo_in_output(connection: Connection) -> None:
    request = connection.request()
    token = token_of(request)
    if is_stream(request):
        # The token split across two pieces, as a model's tokens would split it.
        half = len(token) // 2
        body = f"id: 2\nevent: output\ndata: {token[:half]}\n\nid: 3\nevent: output\ndata: {token[half:]}\n\n"
        events(connection, body.encode() + b"id: 4\nevent: done\ndata: {}\n\n")
    else:
        prediction(connection, request, status="succeeded", output=["a", token[:5], token[5:]], logs=token)


# The CLI prints errors as they are raised (checked above for every scenario) and data as the
# server sent it: the data scenario with every command, and a few error scenarios with two.
CLI_CASES = [("echo in output", command) for command in CLI_COMMANDS] + [
    (name, command)
    for name in ("error event, JSON detail", "broken chunk line (everything)", "status line reason", "prediction id")
    for command in ("run", "stream")
]


@pytest.mark.parametrize(("name", "command"), CLI_CASES)
def test_the_cli_never_prints_the_token(name: str, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    handler = echo_in_output if name == "echo in output" else SCENARIOS[name]
    with RawServer(handler) as server:
        code = main(["--token", TOKEN, "--base-url", server.base_url, *CLI_COMMANDS[command]])
    out, err = capsys.readouterr()
    assert code in (0, 1)
    assert not leaks(out + err), out + err
    assert "Traceback" not in err
    if name == "echo in output" and command == "stream":
        assert out == "a[REDACTED]\n", "the token is taken out even when it arrives in two pieces"
