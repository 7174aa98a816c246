"""Async calls on httpx's own pool: requests beyond its connections wait in `_pool`, not in httpcore's."""

from __future__ import annotations

import anyio
import httpx
import pytest

from inference_api import _http, calls, errors
from inference_api._pool import QueuedTransport, queue_beyond_pool
from inference_api_mock.models import ECHO
from inference_api_mock.testing import MockServer

from .calls_support import loopback_client

GET = "GET /v1/predictions/{prediction_id}"


class Counting(httpx.AsyncBaseTransport):
    """Counts the requests inside `transport` at once (until their responses are closed)."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self.transport = transport
        self.inside = 0
        self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.inside += 1
        self.most = max(self.most, self.inside)
        try:
            response = await self.transport.handle_async_request(request)
        except BaseException:
            self.inside -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        inner: httpx.AsyncByteStream = response.stream
        counter = self

        class Closing(httpx.AsyncByteStream):
            def __aiter__(self):  # type: ignore[no-untyped-def]
                return inner.__aiter__()

            async def aclose(self) -> None:
                await inner.aclose()
                counter.inside -= 1

        response.stream = Closing()
        return response


def counted(http_client: httpx.AsyncClient) -> Counting:
    """Prepare the client as the SDK does, then count what reaches its pool."""
    _http._prepare(http_client, ())
    queued = http_client._transport
    assert isinstance(queued, QueuedTransport)
    counting = Counting(queued.transport)
    queued.transport = counting
    return counting


def test_requests_beyond_the_pool_wait_their_turn_and_all_succeed(server: MockServer) -> None:
    client = loopback_client(server, fast_async=False, httpx_args={"limits": httpx.Limits(max_connections=3)})
    prediction = calls.run(client, ECHO, {"n": 1})
    server.fault(GET, delay=0.05, times=40)

    async def main() -> list[str]:
        counting = counted(client.get_async_httpx_client())
        results: list[str] = []

        async def one() -> None:
            results.append((await calls.async_get(client, prediction.id)).id)

        async with anyio.create_task_group() as tasks:
            for _ in range(40):
                tasks.start_soon(one)
        await client.aclose()
        assert counting.most == 3  # never more than its connections in httpcore's pool at once
        assert counting.inside == 0  # every place given back
        return results

    assert anyio.run(main) == [prediction.id] * 40


def test_a_request_that_waits_longer_than_the_pool_timeout_gets_pool_timeout(server: MockServer) -> None:
    client = loopback_client(
        server,
        fast_async=False,
        retries=0,
        timeout=httpx.Timeout(5.0, pool=0.2),
        httpx_args={"limits": httpx.Limits(max_connections=1)},
    )
    prediction = calls.run(client, ECHO, {"n": 1})
    server.fault(GET, delay=2.0)

    async def main() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(calls.async_get, client, prediction.id)  # holds the one connection for 2 s
            await anyio.sleep(0.1)
            with pytest.raises(errors.APITimeoutError, match=r"no connection free within 0\.2 s") as caught:
                await calls.async_get(client, prediction.id)
            assert isinstance(caught.value.__cause__, httpx.PoolTimeout)
        await client.aclose()

    anyio.run(main)


def test_an_open_response_keeps_its_place_until_it_is_closed(server: MockServer) -> None:
    client = loopback_client(server, fast_async=False, httpx_args={"limits": httpx.Limits(max_connections=1)})
    prediction = calls.run(client, ECHO, {"n": 1})
    url = f"/v1/predictions/{prediction.id}"

    async def main() -> None:
        async with httpx.AsyncClient(
            base_url=server.base_url,
            headers={"Authorization": f"Bearer {client.token}"},
            limits=httpx.Limits(max_connections=1),
        ) as http:
            queue_beyond_pool(http)
            async with http.stream("GET", url) as held:
                assert held.status_code == 200
                with pytest.raises(httpx.PoolTimeout):
                    await http.get(url, timeout=httpx.Timeout(5.0, pool=0.2))
            assert (await http.get(url)).status_code == 200  # its place came back when it closed

    anyio.run(main)


def test_proxy_mounts_are_queued_and_other_transports_left_alone() -> None:
    proxied = httpx.AsyncHTTPTransport(proxy="http://127.0.0.1:9")
    http = httpx.AsyncClient(mounts={"http://": proxied, "https://example.test": None})
    queue_beyond_pool(http)
    assert isinstance(http._transport, QueuedTransport)
    mounted = {pattern.pattern: transport for pattern, transport in http._mounts.items()}
    queued = mounted["http://"]
    assert isinstance(queued, QueuedTransport) and queued.transport is proxied and queued.size == 100
    assert mounted["https://example.test"] is None

    custom = httpx.MockTransport(lambda request: httpx.Response(204))
    http = httpx.AsyncClient(transport=custom)
    queue_beyond_pool(http)
    assert http._transport is custom


def test_the_sdk_queues_on_httpx_pool_and_not_on_aiohttp(server: MockServer) -> None:
    for fast in (False, True):
        client = loopback_client(server, fast_async=fast)
        prediction = calls.run(client, ECHO, {"n": 1})

        async def main() -> bool:
            await calls.async_get(client, prediction.id)  # noqa: B023 (run at once)
            queued = isinstance(client.get_async_httpx_client()._transport, QueuedTransport)  # noqa: B023
            await client.aclose()  # noqa: B023
            return queued

        assert anyio.run(main) is not fast
