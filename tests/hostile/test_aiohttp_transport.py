"""Issue 19, cases 4 and 8: the aiohttp transport bounds each read and sends what the retry policy says.

Case 4: after a chunk-size line aiohttp's parser refuses, aiohttp stopped its read timer and the
body's reader waited forever: `async_get` with a 1 s read timeout ran to its call deadline, a
stream to its run deadline. Now each read is bounded by the read timeout, as on httpx's transport.

Case 8: aiohttp sends an idempotent request once more, unasked, when the connection drops before an
answer: `retries=0` sent 2 requests, the default policy's 4 attempts sent 8.

Each test runs on every async transport (the aiohttp one is what failed); the bound from inside
(`fail_after`) is far below the call's own deadline, so a read that is not bounded fails the test.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

from inference_api import calls, streaming
from inference_api._retry import RetryPolicy
from inference_api.connection import connect
from inference_api.errors import APIConnectionError, APIError, APITimeoutError, StreamError, StreamTimeoutError
from tests.hostile import harness
from tests.hostile.answers import garbage_chunk
from tests.hostile.harness import PREDICTION_ID, TOKEN
from tests.hostile.rawserver import Connection, RawServer

ASYNC_MODES = ("async-aiohttp", "async-httpx")
READ_TIMEOUT = 1.0
CALL_DEADLINE = 60.0  # what ended the calls before: the test gives up long before it
GIVE_UP = 20.0


def client(mode: str, base_url: str, **options: Any) -> Any:
    return connect(
        TOKEN,
        base_url,
        fast_async=mode == "async-aiohttp",
        timeout=READ_TIMEOUT,
        call_timeout=CALL_DEADLINE,
        run_timeout=CALL_DEADLINE,
        async_sleep=lambda _: anyio.lowlevel.checkpoint(),
        **options,
    )


def ended_by_a_read(error: BaseException) -> bool:
    """A read timeout, or aiohttp refusing the chunk at once (both writes in one read): not the deadline."""
    if isinstance(error, APITimeoutError):
        return "total timeout" not in str(error)
    return isinstance(error, APIConnectionError) and "chunk" in str(error).lower()


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_a_garbage_chunk_ends_get_at_the_read_timeout(mode: str) -> None:
    async def get() -> BaseException:
        async with client(mode, server.base_url, retries=0) as async_client:
            with anyio.fail_after(GIVE_UP), pytest.raises(APIError) as caught:
                await calls.async_get(async_client, PREDICTION_ID)
        return caught.value

    with RawServer(garbage_chunk) as server:
        error = anyio.run(get)
    assert ended_by_a_read(error), repr(error)


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_a_garbage_chunk_ends_a_followed_stream_without_waiting_for_its_deadline(mode: str) -> None:
    async def follow() -> BaseException:
        prediction = harness.streaming_prediction(server.base_url)
        async with client(mode, server.base_url) as async_client:
            with anyio.fail_after(GIVE_UP), pytest.raises(StreamError) as caught:
                async with streaming.async_stream_prediction(async_client, prediction) as text:
                    async for _ in text:
                        pass
        return caught.value

    with RawServer(garbage_chunk) as server:
        error = anyio.run(follow)
    # Each connection ended at its read timeout; resuming brought no event, and gave up.
    assert not isinstance(error, StreamTimeoutError), repr(error)
    assert server.connections >= 2, "the stream was resumed after the read timed out"


def drop(connection: Connection) -> None:
    connection.request()  # then close without an answer


@pytest.mark.parametrize("mode", ASYNC_MODES)
@pytest.mark.parametrize(("retries", "attempts"), [(0, 1), (2, 3), (None, RetryPolicy().max_attempts)])
def test_retries_mean_requests(mode: str, retries: int | None, attempts: int) -> None:
    async def get() -> BaseException:
        async with client(mode, server.base_url, retries=retries) as async_client:
            with anyio.fail_after(GIVE_UP), pytest.raises(APIConnectionError) as caught:
                await calls.async_get(async_client, PREDICTION_ID)
        return caught.value

    with RawServer(drop) as server:
        error = anyio.run(get)
    assert isinstance(error, APIError) and error.attempts == attempts
    assert len(server.requests) == attempts, [request.path for request in server.requests]
