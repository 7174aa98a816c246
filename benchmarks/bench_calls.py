"""Async GETs of a prediction against the mock server over loopback, side by side in one run.

    .venv/bin/python benchmarks/bench_calls.py [--requests N] [--rounds R]

The mock server runs in its own process (`python -m mock_server`), so that its work does not
share this process's GIL. Contenders, each fetching the same prediction:
- ours on httpx: `extensions.calls.async_get` on httpx's own `AsyncClient` transport;
- ours on aiohttp: `async_get` with the httpx-aiohttp transport (`connect(fast_async=True)`);
- raw httpx: `httpx.AsyncClient.get` + `response.json()`, no typed parsing (a floor for httpx);
- raw aiohttp: `aiohttp.ClientSession.get` + `json()` (a floor for the transport);
- replicate: replicate-python 1.x `client.predictions.async_get`; its parser expects replicate's
  own shape, not our `{"data": ...}` envelope, so when it fails the raw request time through
  its own httpx client (with its retry transport) is measured instead, and the label says so.

At concurrency 1 and 50, each round sends N requests per contender; rounds are interleaved so
that machine noise hits every contender alike. Printed: the median (and best) round as
microseconds per request (wall time / N), and ratios against ours on httpx.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import httpx
from replicate.client import Client as ReplicateClient

from extensions import calls
from extensions.connection import InferenceClient, connect
from mock_server.models import ECHO

TOKEN = "bench-token"  # noqa: S105 (the mock server's test token)
Fetch = Callable[[], Awaitable[object]]


@contextmanager
def mock_server_process() -> Iterator[str]:
    command = [sys.executable, "-m", "mock_server", "--port", "0", "--token", TOKEN, "--speed", "1000"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603 (our own module)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"the mock server did not start: {url!r}")
        yield url
    finally:
        process.terminate()
        process.wait(10)


async def run_concurrently(fetch: Fetch, requests: int, concurrency: int) -> float:
    """Seconds to send `requests` fetches, `concurrency` at a time."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await fetch()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


async def contenders(base_url: str, prediction_id: str) -> tuple[dict[str, Fetch], list[Callable[[], Awaitable[Any]]]]:
    ours_httpx: InferenceClient = connect(TOKEN, base_url, fast_async=False)
    ours_aiohttp: InferenceClient = connect(TOKEN, base_url, fast_async=True)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    raw_httpx = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}, limits=limits)
    raw_aiohttp = aiohttp.ClientSession(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"})
    peer = ReplicateClient(api_token=TOKEN, base_url=base_url)
    path = f"/v1/predictions/{prediction_id}"

    async def raw_httpx_get() -> object:
        response = await raw_httpx.get(path)
        response.raise_for_status()
        return response.json()

    async def raw_aiohttp_get() -> object:
        async with raw_aiohttp.get(path) as response:
            response.raise_for_status()
            return await response.json()

    async def replicate_get() -> object:
        return await peer.predictions.async_get(prediction_id)

    async def replicate_raw_get() -> object:
        response = await peer._async_request("GET", path)
        return response.json()

    replicate_label, replicate_fetch = "replicate predictions.async_get", replicate_get
    try:
        await replicate_get()
    except Exception as exc:  # its parser does not know our envelope
        problem = type(exc).__name__
        print(f"replicate's predictions.async_get cannot parse our envelope ({problem}); timing its raw request")
        replicate_label, replicate_fetch = "replicate raw request (no parse)", replicate_raw_get

    fetches: dict[str, Fetch] = {
        "ours on httpx": lambda: calls.async_get(ours_httpx, prediction_id),
        "ours on aiohttp": lambda: calls.async_get(ours_aiohttp, prediction_id),
        "raw httpx (no parse)": raw_httpx_get,
        "raw aiohttp (no parse)": raw_aiohttp_get,
        replicate_label: replicate_fetch,
    }
    closers: list[Callable[[], Awaitable[Any]]] = [
        ours_httpx.get_async_httpx_client().aclose,
        ours_aiohttp.get_async_httpx_client().aclose,
        raw_httpx.aclose,
        raw_aiohttp.close,
    ]
    return fetches, closers


async def bench(base_url: str, requests: int, rounds: int) -> None:
    prediction = calls.run(connect(TOKEN, base_url), ECHO, {"text": "benchmark"})
    fetches, closers = await contenders(base_url, prediction.id)
    try:
        for concurrency in (1, 50):
            n = max(requests // 4, 50) if concurrency == 1 else requests
            for fetch in fetches.values():  # warm-up: open the connections
                await run_concurrently(fetch, concurrency * 2, concurrency)
            times: dict[str, list[float]] = {name: [] for name in fetches}
            for _ in range(rounds):
                for name, fetch in fetches.items():
                    times[name].append(await run_concurrently(fetch, n, concurrency) / n * 1e6)
            report(concurrency, n, rounds, times)
    finally:
        for close in closers:
            await close()


def report(concurrency: int, n: int, rounds: int, times: dict[str, list[float]]) -> None:
    reference = statistics.median(times["ours on httpx"])
    print(f"\nconcurrency {concurrency}: {n} GETs per round, {rounds} rounds; µs per request (wall time / requests)")
    print(f"  {'contender':36} {'median':>9} {'best':>9} {'vs ours on httpx':>17}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:36} {median:9.0f} {min(samples):9.0f} {median / reference:16.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per round at concurrency 50")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    versions = (
        f"httpx {httpx.__version__}, aiohttp {aiohttp.__version__}, replicate {importlib.metadata.version('replicate')}"
    )
    print(f"python {sys.version.split()[0]}, {versions}, cpus {os.cpu_count()}")
    with mock_server_process() as url:
        asyncio.run(bench(url, args.requests, args.rounds))


if __name__ == "__main__":
    main()
