"""Issue 19, cases 2 and 3: the token in an exception's chain, and in a redirect's host.

Case 2: a server echoing the token where parsing fails (a prediction's `created_at`, a chunk-size
line) left the raw `ValueError` / `RemoteProtocolError` quoting it in the error's suppressed
`__context__`: hidden from printed tracebacks, not from error reporters that walk the chain.

Case 3: a redirect to `http://<TOKEN>.invalid/` or `http://[<TOKEN>/`: httpx lowercases the host,
which case-sensitive redaction missed, and the SDK resolved the host, a DNS query carrying the
token. Now a request whose URL carries the token is refused before anything resolves it.

Every call, in every mode, with the token spelled as is, in upper case and percent-encoded: no 8
consecutive characters of it in any exception of the chain (walked through `__cause__` and
`__context__`), any log record, any host name looked up, or the CLI's output.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from inference_api.cli import main
from inference_api.errors import APIError
from tests.hostile import harness
from tests.hostile.answers import chunked, events, is_stream, prediction, send, token_of
from tests.hostile.harness import PREDICTION_ID, TOKEN
from tests.hostile.leaks import SPELLINGS, leaked, logged, shown
from tests.hostile.rawserver import Connection, Handler, RawServer, Request

DEADLINE = 1.5
CHAIN_SPELLINGS = ("as is", "upper", "percent-encoded")

Echo = Callable[[Connection, Request, str], None]


def echoing(answer: Echo, spelling: str, on_streams_too: bool = True) -> Handler:
    """A server that answers with `answer(connection, request, spelled token)`; streams get a
    plain event stream unless `on_streams_too`, downloads a small file."""
    spell = SPELLINGS[spelling]

    def handle(connection: Connection) -> None:
        request = connection.request()
        spelled = spell(token_of(request) or TOKEN)
        if is_stream(request) and not on_streams_too:
            events(connection, b"id: 2\nevent: done\ndata: {}\n\n")
        elif request.path.startswith("/files/") and not on_streams_too:
            send(connection, "200 OK", "video/mp4", b"\x00" * 10)
        else:
            answer(connection, request, spelled)

    return handle


def created_at(connection: Connection, request: Request, spelled: str) -> None:
    prediction(connection, request, status="succeeded", created_at=spelled)


def redirect_to(location: str) -> Echo:
    def answer(connection: Connection, request: Request, spelled: str) -> None:
        send(connection, "307 Temporary Redirect", "text/plain", b"", f"Location: {location.format(spelled)}")

    return answer


CASES: dict[str, tuple[Echo, bool]] = {
    "created_at": (created_at, False),
    "chunk-size line": (lambda c, r, t: chunked(c, t), True),
    "chunk-size line after garbage": (lambda c, r, t: chunked(c, f"zz {t}"), True),
    "redirect to a host": (redirect_to("http://{}.invalid/x"), True),
    "redirect to a bracketed host": (redirect_to("http://[{}/x"), True),
    "redirect to a query": (redirect_to("http://elsewhere.invalid/x?token={}"), True),
}


@pytest.fixture
def looked_up(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The host names resolved while the test runs (every transport resolves through socket.getaddrinfo)."""
    hosts: list[str] = []
    real = socket.getaddrinfo

    def recording(host: Any, *args: Any, **kwargs: Any) -> Any:
        hosts.append(host.decode() if isinstance(host, bytes) else str(host))
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    return hosts


def test_no_piece_of_the_token_anywhere_in_the_chain(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, looked_up: list[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    handlers = {
        f"{case} ({spelling})": echoing(answer, spelling, streams)
        for case, (answer, streams) in CASES.items()
        for spelling in CHAIN_SPELLINGS
    }
    results = harness.run_everywhere(handlers, tmp_path, deadline=DEADLINE, timeout=DEADLINE / 2)
    problems = []
    for (name, mode), outcomes in results.items():
        for outcome in outcomes:
            where = f"{name}, {outcome.call} ({mode})"
            if name.startswith("created_at") and outcome.call in ("stream", "stream_prediction", "download"):
                continue  # nothing parses a prediction there
            if not isinstance(outcome.error, APIError):
                problems.append(f"{where}: {outcome.error!r}, not an APIError")
                continue
            piece = leaked(shown(outcome.error))
            if piece:
                problems.append(f"{where}: {piece!r} in\n{shown(outcome.error)}")
    assert not problems, "\n\n".join(problems[:6])
    piece = leaked(logged(caplog.records))
    assert piece is None, [line for line in logged(caplog.records).splitlines() if leaked(line)][:5]
    assert not [host for host in looked_up if leaked(host)], "a host built from the token was resolved"


def test_a_redirect_to_the_token_is_refused_before_it_is_resolved(tmp_path: Path, looked_up: list[str]) -> None:
    handlers = {spelling: echoing(redirect_to("http://{}.invalid/x"), spelling) for spelling in ("as is", "upper")}
    results = harness.run_everywhere(handlers, tmp_path, deadline=DEADLINE, names=("get", "download"))
    for (spelling, mode), outcomes in results.items():
        for outcome in outcomes:
            assert isinstance(outcome.error, APIError), (spelling, mode, outcome)
            assert "carries the API token" in str(outcome.error), (spelling, mode, str(outcome.error))
    assert not [host for host in looked_up if ".invalid" in host]


@pytest.mark.parametrize("spelling", CHAIN_SPELLINGS)
@pytest.mark.parametrize("case", ["created_at", "redirect to a host", "chunk-size line"])
def test_the_cli_prints_no_piece_of_the_token(
    case: str, spelling: str, capsys: pytest.CaptureFixture[str], looked_up: list[str]
) -> None:
    answer, streams = CASES[case]
    with RawServer(echoing(answer, spelling, streams)) as server:
        code = main(["--token", TOKEN, "--base-url", server.base_url, "get", PREDICTION_ID])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert leaked(out + err) is None, out + err
    assert "Traceback" not in err
    assert not [host for host in looked_up if leaked(host)]


def test_a_created_at_the_sdk_cannot_parse_is_a_typed_error_that_names_it(tmp_path: Path) -> None:
    with RawServer(echoing(created_at, "as is", False)) as server:
        (outcome,) = harness.run_calls("sync", server.base_url, tmp_path, deadline=DEADLINE, names=("get",))
    assert isinstance(outcome.error, APIError)
    assert "[REDACTED]" in str(outcome.error)
    assert json.dumps(TOKEN) not in shown(outcome.error)
