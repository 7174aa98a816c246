"""Issue 19, case 1: the token anywhere in a 4 KiB error body that is not JSON, in any spelling.

The SDK shows an excerpt of such a body (its first 200 characters); it used to cut the excerpt
first and redact it after, so a token across the cut (at character 181) left 18 of its 22
characters in the message, the retry log and the CLI's output. Here the token sits at each offset
up to the excerpt's cut, every 6th after it and at the body's end, spelled as is, in upper, lower
and mixed case and percent-encoded: no 8 consecutive characters of it may appear in any error (its
whole chain), any log record or the CLI's output.

These offsets run in-process (httpx's MockTransport, sync and async); the aiohttp transport and
the CLI, which need a socket, run a sample of offsets around the excerpt's cut and the body's ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.lowlevel
import httpx
import pytest

from inference_api import calls
from inference_api.cli import main
from inference_api.connection import connect
from inference_api.errors import APIStatusError
from tests.hostile import harness
from tests.hostile.harness import PREDICTION_ID, TOKEN
from tests.hostile.leaks import SPELLINGS, leaked, logged, shown
from tests.hostile.rawserver import Connection, RawServer

BODY_SIZE = 4096
FILLER = "upstream said no; " * (BODY_SIZE // 18 + 1)
# Around the excerpt's cut (200 characters), the body's start and its end.
SAMPLED_OFFSETS = (0, 1, 170, 181, 185, 190, 195, 199, 200, 201, 1000)


def body(spelled: str, offset: int) -> bytes:
    text = (FILLER[:offset] + spelled + FILLER)[:BODY_SIZE]
    return text.encode()


EXCERPT = 200  # the characters of such a body the SDK shows
# Past the excerpt, every 6th offset: a token (22 characters at least) that ends within 8 of any
# cut point there has, at one of them, at least 8 on each side of that point.
STRIDE = 6


def offsets(spelled: str) -> list[int]:
    """Every offset at which the token reaches the excerpt or ends the body; every 6th between."""
    last = BODY_SIZE - len(spelled)
    near_the_cut = range(EXCERPT + len(spelled))
    return sorted({*near_the_cut, *range(near_the_cut.stop, last, STRIDE), last})


def answer(spelled: str, offset: int) -> Callable[[httpx.Request], httpx.Response]:
    content = body(spelled, offset)

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Content-Type": "text/plain"}, content=content)

    return respond


def problems_in(error: BaseException | None, where: str) -> list[str]:
    if not isinstance(error, APIStatusError):
        return [f"{where}: {error!r} is not an APIStatusError"]
    piece = leaked(shown(error))
    return [f"{where}: {piece!r} in {shown(error)}"] if piece else []


# Each offset costs ~5 ms: four spellings here, one on the async path (the same code after the
# response), all six on a socket below.
@pytest.mark.parametrize("spelling", ["as is", "upper", "mixed", "percent-encoded"])
def test_no_piece_of_the_token_at_any_offset_sync(spelling: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="inference_api")
    spelled = SPELLINGS[spelling](TOKEN)
    problems: list[str] = []
    current: list[Callable[[httpx.Request], httpx.Response]] = []
    transport = httpx.MockTransport(lambda request: current[0](request))
    # One retry: the INFO line that announces it quotes the first attempt's error.
    client = connect(TOKEN, "http://api.test", retries=1, sleep=lambda _: None, httpx_args={"transport": transport})
    with client:
        for offset in offsets(spelled):
            current[:] = [answer(spelled, offset)]
            try:
                calls.get(client, PREDICTION_ID)
            except Exception as exc:  # inspected below
                problems += problems_in(exc, f"offset {offset}")
            else:
                problems.append(f"offset {offset}: no error")
    assert not problems, "\n".join(problems[:5])
    retry_lines = [record for record in caplog.records if "retrying" in record.getMessage()]
    assert len(retry_lines) == len(offsets(spelled))
    assert leaked(logged(caplog.records)) is None, logged(caplog.records)[:2000]


@pytest.mark.parametrize("spelling", ["mixed"])
def test_no_piece_of_the_token_at_any_offset_async(spelling: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="inference_api")
    spelled = SPELLINGS[spelling](TOKEN)
    problems: list[str] = []

    async def all_offsets() -> None:
        current: list[Callable[[httpx.Request], httpx.Response]] = []
        transport = httpx.MockTransport(lambda request: current[0](request))
        options = {
            "retries": 1,
            "async_sleep": lambda _: anyio.lowlevel.checkpoint(),
            "httpx_args": {"transport": transport},
        }
        async with connect(TOKEN, "http://api.test", **options) as client:  # type: ignore[arg-type]
            for offset in offsets(spelled):
                current[:] = [answer(spelled, offset)]
                try:
                    await calls.async_get(client, PREDICTION_ID)
                except Exception as exc:  # inspected below
                    problems.extend(problems_in(exc, f"offset {offset}"))

    anyio.run(all_offsets)
    assert not problems, "\n".join(problems[:5])
    assert leaked(logged(caplog.records)) is None, logged(caplog.records)[:2000]


def error_body_server(spelled: str, offset: int, status: str = "503 Service Unavailable") -> RawServer:
    content = body(spelled, offset)

    def handle(connection: Connection) -> None:
        connection.request()
        head = f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(content)}\r\n"
        connection.send(head.encode() + b"Connection: close\r\n\r\n" + content)

    return RawServer(handle)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_no_piece_of_the_token_on_a_socket_in_every_mode(
    spelling: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    spelled = SPELLINGS[spelling](TOKEN)
    problems: list[str] = []
    no_wait = {"retries": 1, "sleep": lambda _: None, "async_sleep": lambda _: anyio.lowlevel.checkpoint()}
    for offset in SAMPLED_OFFSETS:
        with error_body_server(spelled, offset) as server:
            for mode in harness.MODES:
                (outcome,) = harness.run_calls(
                    mode, server.base_url, tmp_path, deadline=10.0, names=("get",), **no_wait
                )
                problems += problems_in(outcome.error, f"offset {offset} ({mode})")
    assert not problems, "\n".join(problems[:5])
    assert leaked(logged(caplog.records)) is None, logged(caplog.records)[:2000]


@pytest.mark.parametrize("spelling", ["as is", "upper", "percent-encoded"])
@pytest.mark.parametrize("offset", [0, 181, 195])
def test_the_cli_prints_no_piece_of_the_token(spelling: str, offset: int, capsys: pytest.CaptureFixture[str]) -> None:
    spelled = SPELLINGS[spelling](TOKEN)
    with error_body_server(spelled, offset, "401 Unauthorized") as server:
        code = main(["--token", TOKEN, "--base-url", server.base_url, "get", PREDICTION_ID])
    out, err = capsys.readouterr()
    assert code == 1
    assert "401" in err
    assert leaked(out + err) is None, out + err
