"""Cases 1 and 2: a transport stuck on bad framing, and servers that trickle, cannot outlast a deadline.

Every call (get, create, cancel, run, stream, stream_prediction, wait on a poll and on a stream,
download) runs at once in every mode against a server that:

- sends a chunked 200 whose second chunk-size line is garbage (`5\\r\\n{"dat\\r\\n`, then
  `zz\\r\\n\\r\\n`) and keeps the connection open: aiohttp's C parser then waits forever;
- drips its body, or its headers, one byte at a time, well within any read timeout;
- accepts the request and says nothing.

Each call must end with a typed error at its deadline (not after the drip, which lasts far
longer), and no output may hold the token.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from inference_api import calls, streaming
from inference_api._deadline_sync import is_bounded
from inference_api.errors import APIConnectionError, APIError, APITimeoutError, StreamTimeoutError, WaitTimeoutError
from tests.hostile import harness
from tests.hostile.answers import content_type, garbage_chunk, silent
from tests.hostile.harness import TOKEN
from tests.hostile.rawserver import Connection, RawServer

DEADLINE = 1.5
# A drip lasts this long at least: a call bounded per read only would still be reading.
DRIP_INTERVAL = 0.25
PAD = b" " * 160  # the drip lasts (len(body) * DRIP_INTERVAL) seconds: 40 s and more


def body_for(path: str, base_url: str) -> bytes:
    if content_type(path) == "text/event-stream":
        return b"id: 1\nevent: output\ndata: a\n\n" + b": " + PAD + b"\n\nid: 2\nevent: done\ndata: {}\n\n"
    if path.startswith("/files/"):
        return b"\x00" * 200
    return harness.envelope(base_url, status="succeeded") + PAD


def drip_body(connection: Connection) -> None:
    request = connection.request()
    body = body_for(request.path, connection.server.base_url)
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type(request.path)}\r\nContent-Length: {len(body)}\r\n\r\n"
    connection.send(head.encode())
    connection.drip(body, DRIP_INTERVAL)


def drip_headers(connection: Connection) -> None:
    request = connection.request()
    connection.send(b"HTTP/1.1 200 OK\r\n")
    connection.drip(f"Content-Type: {content_type(request.path)}\r\nX-Padding: ".encode() + PAD, DRIP_INTERVAL)


SCENARIOS = {
    "garbage chunk-size line": garbage_chunk,
    "body dripped byte by byte": drip_body,
    "headers dripped byte by byte": drip_headers,
    "silent after the request": silent,
}


def test_every_call_ends_by_its_deadline_with_a_typed_error(tmp_path: Path) -> None:
    # Every scenario in every mode at once (a server each): the test takes about one deadline.
    results = harness.run_everywhere(SCENARIOS, tmp_path, deadline=DEADLINE)
    problems = []
    for (case, mode), outcomes in results.items():
        harness.record(case, outcomes, DEADLINE)
        for outcome in outcomes:
            error = outcome.error
            where = f"{case}: {outcome.call} ({mode}) after {outcome.elapsed:.1f} s"
            if not isinstance(error, APIError):
                problems.append(f"{where}: {error!r} (result {outcome.result!r})")
                continue
            if TOKEN in outcome.shown():
                problems.append(f"{where}: the token is in {outcome.shown()}")
            if case != "garbage chunk-size line" or mode == "async-aiohttp":
                # Nothing ends these but the deadline (httpx's parser refuses the garbage at once).
                # aiohttp's parser hangs on it, or refuses it at once when both writes reach it in
                # one read (seen under load): either way the call ends in time with a typed error.
                expected = WaitTimeoutError if outcome.call.startswith("wait") else APITimeoutError
                refused_at_once = (
                    case == "garbage chunk-size line"
                    and isinstance(error, APIConnectionError)
                    and "chunk size" in str(error)
                )
                if not isinstance(error, expected) and not refused_at_once:
                    problems.append(f"{where}: {error!r}, not {expected.__name__}")
            stream_timeout = outcome.call.startswith("stream") and isinstance(error, APITimeoutError)
            if stream_timeout and not isinstance(error, StreamTimeoutError):
                problems.append(f"{where}: {error!r}, not StreamTimeoutError")
    assert not problems, "\n".join(problems)
    leftovers = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert not leftovers, "a download that failed leaves no file behind"


def test_a_one_byte_per_second_drip_ends_at_the_deadline(tmp_path: Path) -> None:
    def one_byte_a_second(connection: Connection) -> None:
        request = connection.request()
        body = body_for(request.path, connection.server.base_url)
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        connection.send(head.encode())
        connection.drip(body, 1.0)  # 229 bytes and more: four minutes

    deadline = 2.5
    results = harness.run_everywhere(
        {"drip": one_byte_a_second}, tmp_path, deadline=deadline, names=("get", "wait", "run", "download")
    )
    for (_, mode), outcomes in results.items():
        harness.record("1 byte per second", outcomes, deadline)
        for outcome in outcomes:
            expected = WaitTimeoutError if outcome.call == "wait" else APITimeoutError
            assert isinstance(outcome.error, expected), (outcome.call, mode, outcome.error)
            if outcome.call != "wait":
                assert f"did not finish within {deadline} s" in str(outcome.error), str(outcome.error)


def test_a_stream_that_only_keeps_alive_ends_at_its_idle_timeout(tmp_path: Path) -> None:
    def keeps_alive(connection: Connection) -> None:
        connection.request()
        connection.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nid: 1\nevent: output\ndata: a\n\n")
        while True:  # comments, never an event: the read timeout never trips
            connection.pause(0.2)
            connection.send(b": keep-alive\n\n")

    idle = 1.0
    with RawServer(keeps_alive) as server:
        client = harness.client_for("sync", server.base_url, 30.0)
        prediction = harness.streaming_prediction(server.base_url)
        text = streaming.stream_prediction(client, prediction, idle_timeout=idle)
        with pytest.raises(StreamTimeoutError, match=r"no event for 1 s \(idle_timeout\)") as caught:
            "".join(text)
        assert caught.value.text == "a" == text.text

        async def follow() -> None:
            async with harness.client_for("async-aiohttp", server.base_url, 30.0) as async_client:
                events = streaming.async_stream_prediction(async_client, prediction, idle_timeout=idle)
                async with events:
                    with pytest.raises(StreamTimeoutError, match="idle_timeout") as caught:
                        async for _ in events:
                            pass
                    assert caught.value.text == "a"

        anyio.run(follow)


def test_the_sync_deadline_is_in_place_on_the_clients_own_transport() -> None:
    # It reaches into httpx's transport (see inference_api._deadline): a new httpx that moves things
    # must fail here rather than silently lose the bound.
    with RawServer(drip_body) as server:
        client = harness.client_for("sync", server.base_url, 0.5)
        with pytest.raises(APITimeoutError):
            calls.get(client, harness.PREDICTION_ID)
        assert is_bounded(client.get_httpx_client())
