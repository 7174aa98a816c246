"""GETs of a prediction from a minimal server: ours beside raw httpx on the same transport, raw aiohttp, replicate.

    .venv/bin/python benchmarks/bench_calls.py [--requests N] [--rounds R] [--quick]

The server is benchmarks/_rawserver.py, in its own process: plain asyncio that answers every GET
with the same prepared 1 KiB prediction, so that what is measured is the client. Its own CPU per
request is shown beside each contender and is a fraction of any client's. (The mock server pays for
routing, spec validation and state, more than the clients themselves, and on a machine of 2 cores
its cost hid theirs: end-to-end benchmarks keep it, per-call ones use this.) Each figure is given
twice: wall time (what a caller waits) and this process's CPU time (what the client itself costs),
both per request, medians of interleaved rounds with their spread (lowest-highest round).

- sequential, sync: ours `calls.get` (typed errors, retries, total deadline, the `Prediction`
  parsed) against raw `httpx.Client.get` + `response.json()`, the same transport; ours with
  `call_timeout=None` shows what the total deadline costs.
- async, at concurrency 1, 50 and 500: ours `calls.async_get` on the aiohttp transport (the `fast`
  extra, what `connect()` picks) and on httpx's own pool (without the extra, or with a proxy in
  the environment); raw httpx on the SDK's aiohttp transport and raw `httpx.AsyncClient.get` +
  `json()` (100 connections, as many kept alive): the same transports without the SDK; raw
  `aiohttp.ClientSession.get` + `json()`, the floor for any asyncio client; and replicate-python
  1.x's own request (its `predictions.async_get` cannot parse our `{"data": ...}` envelope, so its
  raw request is timed, through its own httpx client and retry transport).

Ratios are given against raw aiohttp and against raw httpx on the contender's own transport: the
first is what a user pays over the fastest client, the second what the SDK adds to httpx (the
rest of the gap is httpx's). Aims: sequential `get` at most 1.1x raw httpx; async `get` at
concurrency 50 on aiohttp at most 1.1x raw httpx on the same transport, and at most 1.4x raw
aiohttp; ours on httpx's pool at 500 at most 3x its own cost at 50, without pool timeouts. A
contender that fails requests (raw httpx's `PoolTimeout` at 500) has its failures counted; raw httpx
runs one round at 500, where it spends seconds per request.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import math
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
from _harness import Bench, ServerProcess, fmt_ratio, interleave, median, ratios, spread
from _rawserver import TOKEN, raw_server_process
from replicate.client import Client as ReplicateClient

from inference_api import calls
from inference_api._aiohttp import MappedAiohttpTransport
from inference_api.connection import InferenceClient, connect

PREDICTION_ID = "p48"  # the raw server's prediction with 48 output pieces: a 1 KiB body
Fetch = Callable[[], Awaitable[object]]
OURS_AIOHTTP = "ours, aiohttp transport"
OURS_HTTPX = "ours, httpx's pool"
RAW_HTTPX = "raw httpx"
RAW_AIOHTTP = "raw aiohttp"
HTTPX_ON_AIOHTTP = "raw httpx, aiohttp transport"
REPLICATE = "replicate: its raw request"
OURS_SYNC = "ours: get"
RAW_HTTPX_SYNC = "raw httpx: get + json()"
# Each contender's transport without the SDK (or replicate) on it: the ratio to it is what they add to httpx.
SAME_TRANSPORT = {
    OURS_AIOHTTP: HTTPX_ON_AIOHTTP,
    OURS_HTTPX: RAW_HTTPX,
    REPLICATE: RAW_HTTPX,
    OURS_SYNC: RAW_HTTPX_SYNC,
    "ours: get, call_timeout=None": RAW_HTTPX_SYNC,
}


class Sample:
    """One round of one contender: per-request wall and CPU microseconds, failed requests, and the
    server's CPU seconds over the round's requests."""

    def __init__(self, wall: float, cpu: float, failures: int, server_seconds: float, requests: int) -> None:
        self.wall, self.cpu, self.failures = wall, cpu, failures
        self.server_seconds, self.requests = server_seconds, requests


def server_cpu(rounds: list[Sample]) -> str:
    """The server's CPU per request over all of a contender's rounds (the clock ticks in 10 ms)."""
    seconds = sum(sample.server_seconds for sample in rounds)
    requests = sum(sample.requests for sample in rounds)
    return "?" if math.isnan(seconds) or not requests else f"{seconds / requests * 1e6:.0f}"


async def run_concurrently(server: ServerProcess, fetch: Fetch, requests: int, concurrency: int) -> Sample:
    """`requests` fetches, `concurrency` at a time; an exception counts as a failure, not an end."""
    remaining = requests
    failures = 0

    async def worker() -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            try:
                await fetch()
            except Exception:  # counted: raw httpx's PoolTimeout at high concurrency
                failures += 1

    served = server.cpu_seconds()
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Sample(wall / requests * 1e6, cpu / requests * 1e6, failures, server.cpu_seconds() - served, requests)


def table(bench: Bench, title: str, samples: dict[str, list[Sample]], reference: str) -> None:
    def versus(name: str, peer: str, attribute: str) -> str:
        if peer not in samples:
            return ""
        mine = [getattr(sample, attribute) for sample in samples[name]]
        theirs = [getattr(sample, attribute) for sample in samples[peer]]
        if len(mine) != len(theirs):  # a contender run once: medians, no rounds to pair
            return f"{median(mine) / median(theirs):.2f}x"
        return fmt_ratio(ratios(mine, theirs))

    rows = []
    for name, rounds in samples.items():
        wall = [sample.wall for sample in rounds]
        cpu = [sample.cpu for sample in rounds]
        same = SAME_TRANSPORT.get(name, "")
        rows.append(
            [
                name,
                f"{median(wall):.0f}",
                spread(wall),
                f"{median(cpu):.0f}",
                spread(cpu),
                server_cpu(rounds),
                versus(name, reference, "wall"),
                versus(name, reference, "cpu"),
                versus(name, same, "wall") if same != reference else "",
                versus(name, same, "cpu") if same != reference else "",
                str(sum(sample.failures for sample in rounds)),
            ]
        )
    bench.table(
        title,
        [
            "contender",
            "wall µs",
            "spread",
            "CPU µs",
            "spread",
            "server CPU µs",
            f"wall vs {reference}",
            f"CPU vs {reference}",
            "wall vs raw httpx, same transport",
            "CPU vs raw httpx, same transport",
            "failed",
        ],
        rows,
    )


def aims(bench: Bench, what: str, ours: list[Sample], peer: list[Sample], peer_name: str, goal: float | None) -> None:
    for attribute, label in (("wall", "wall"), ("cpu", "client CPU")):
        mine = [getattr(sample, attribute) for sample in ours]
        theirs = [getattr(sample, attribute) for sample in peer]
        bench.aim_ratios(f"{what}, {label}", mine, theirs, peer_name=peer_name, goal=goal, unit="µs")


# --- sequential, sync --------------------------------------------------------------------------------


def sequential(bench: Bench, server: ServerProcess, requests: int, rounds: int) -> None:
    base_url = server.base_url
    ours = connect(TOKEN, base_url)
    unbounded = connect(TOKEN, base_url, call_timeout=None)
    raw = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"})
    path = f"/v1/predictions/{PREDICTION_ID}"

    def raw_get() -> object:
        response = raw.get(path)
        response.raise_for_status()
        return response.json()

    fetches: dict[str, Callable[[], object]] = {
        OURS_SYNC: lambda: calls.get(ours, PREDICTION_ID),
        "ours: get, call_timeout=None": lambda: calls.get(unbounded, PREDICTION_ID),
        RAW_HTTPX_SYNC: raw_get,
    }

    def timed(fetch: Callable[[], object]) -> Callable[[], Sample]:
        def once() -> Sample:
            served = server.cpu_seconds()
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(requests):
                fetch()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            return Sample(wall / requests * 1e6, cpu / requests * 1e6, 0, server.cpu_seconds() - served, requests)

        return once

    try:
        for fetch in fetches.values():  # warm-up: the connection, imports
            for _ in range(20):
                fetch()
        samples = interleave({name: timed(fetch) for name, fetch in fetches.items()}, rounds)
    finally:
        raw.close()
        ours.close()
        unbounded.close()
    table(
        bench, f"sequential sync GETs, {requests} per round, {rounds} rounds; µs per request", samples, RAW_HTTPX_SYNC
    )
    aims(bench, "sequential get", samples[OURS_SYNC], samples[RAW_HTTPX_SYNC], "raw httpx", 1.1)


# --- async ---------------------------------------------------------------------------------------------


async def contenders(base_url: str) -> tuple[dict[str, Fetch], list[Callable[[], Awaitable[Any]]]]:
    ours_aiohttp: InferenceClient = connect(TOKEN, base_url, fast_async=True)
    ours_httpx: InferenceClient = connect(TOKEN, base_url, fast_async=False)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    raw_httpx = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}, limits=limits)
    raw_aiohttp = aiohttp.ClientSession(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"})
    httpx_on_aiohttp = httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}, transport=MappedAiohttpTransport()
    )
    peer = ReplicateClient(api_token=TOKEN, base_url=base_url)
    path = f"/v1/predictions/{PREDICTION_ID}"

    async def raw_httpx_get() -> object:
        response = await raw_httpx.get(path)
        response.raise_for_status()
        return response.json()

    async def raw_aiohttp_get() -> object:
        async with raw_aiohttp.get(path) as response:
            response.raise_for_status()
            return await response.json()

    async def httpx_on_aiohttp_get() -> object:
        response = await httpx_on_aiohttp.get(path)
        response.raise_for_status()
        return response.json()

    async def replicate_raw_get() -> object:
        response = await peer._async_request("GET", path)
        return response.json()

    fetches: dict[str, Fetch] = {
        OURS_AIOHTTP: lambda: calls.async_get(ours_aiohttp, PREDICTION_ID),
        OURS_HTTPX: lambda: calls.async_get(ours_httpx, PREDICTION_ID),
        RAW_AIOHTTP: raw_aiohttp_get,
        RAW_HTTPX: raw_httpx_get,
        HTTPX_ON_AIOHTTP: httpx_on_aiohttp_get,
        REPLICATE: replicate_raw_get,
    }
    closers: list[Callable[[], Awaitable[Any]]] = [
        ours_aiohttp.aclose,
        ours_httpx.aclose,
        raw_httpx.aclose,
        raw_aiohttp.close,
        httpx_on_aiohttp.aclose,
    ]
    return fetches, closers


async def concurrent(bench: Bench, server: ServerProcess, requests: int, rounds: int) -> None:
    fetches, closers = await contenders(server.base_url)
    results: dict[int, dict[str, list[Sample]]] = {}
    try:
        for concurrency in (1, 50, 500):
            n = max(requests // 8, 50) if concurrency == 1 else max(requests, 2 * concurrency)
            # replicate's client is httpx's, as raw httpx is: at 500 it would only repeat it.
            chosen = {name: f for name, f in fetches.items() if concurrency < 500 or name != REPLICATE}
            rounds_here = max(2, rounds * 3 // 5) if concurrency == 500 else rounds  # raw httpx takes long there
            # Raw httpx at 500 spends seconds per request in its pool, and fails most with PoolTimeout:
            # one round, without warm-up, shows it.
            once = {RAW_HTTPX} if concurrency == 500 else set()
            for name, fetch in chosen.items():  # warm-up: open the connections
                if name not in once:
                    await run_concurrently(server, fetch, concurrency * 2, concurrency)
            samples: dict[str, list[Sample]] = {name: [] for name in chosen}
            names = list(chosen)
            for number in range(rounds_here):
                shift = number % len(names)
                for name in names[shift:] + names[:shift]:
                    if number == 0 or name not in once:
                        samples[name].append(await run_concurrently(server, chosen[name], n, concurrency))
            results[concurrency] = samples
            table(
                bench,
                f"async, concurrency {concurrency}: {n} GETs per round, {rounds_here} rounds; µs per request",
                samples,
                RAW_AIOHTTP,
            )
    finally:
        for close in closers:
            await close()
    at_50 = results[50]
    aims(
        bench,
        "async get at concurrency 50, on aiohttp, vs raw httpx on the same transport (what the SDK adds)",
        at_50[OURS_AIOHTTP],
        at_50[HTTPX_ON_AIOHTTP],
        "raw httpx, aiohttp transport",
        1.1,
    )
    aims(bench, "async get at concurrency 50, on aiohttp", at_50[OURS_AIOHTTP], at_50[RAW_AIOHTTP], "raw aiohttp", 1.4)
    aims(
        bench,
        "raw httpx on the same aiohttp transport at concurrency 50 (the floor under httpx)",
        at_50[HTTPX_ON_AIOHTTP],
        at_50[RAW_AIOHTTP],
        "raw aiohttp",
        None,
    )
    bench.aim_ratios(
        "async get at concurrency 50 on httpx's pool, client CPU (no fast extra)",
        [sample.cpu for sample in at_50[OURS_HTTPX]],
        [sample.cpu for sample in at_50[RAW_HTTPX]],
        peer_name="raw httpx",
        goal=None,
        unit="µs",
    )

    def cpu(name: str) -> float:
        return median([sample.cpu for sample in at_50[name]])

    ours, floor, raw = cpu(OURS_AIOHTTP), cpu(HTTPX_ON_AIOHTTP), cpu(RAW_AIOHTTP)
    bench.note(
        f"client CPU at concurrency 50: ours on aiohttp costs {ours / raw:.2f}x raw aiohttp, and raw httpx on the "
        f"SDK's aiohttp transport alone {floor / raw:.2f}x: the SDK adds {ours / floor - 1:+.0%} to httpx, and "
        "the rest of the gap is httpx's own request and response handling (models, auth, redirects, event "
        "hooks, cookies), which the 1.4x aim would mean leaving. Ours on httpx's own pool costs "
        f"{cpu(OURS_HTTPX) / raw:.2f}x raw aiohttp, raw httpx {cpu(RAW_HTTPX) / raw:.2f}x."
    )
    pool_50, pool_500 = results[50][OURS_HTTPX], results[500][OURS_HTTPX]
    bench.aim(
        "async get on httpx's pool at concurrency 500, vs itself at 50 (wall)",
        ours=f"{median([s.wall for s in pool_500]):.0f} µs, {sum(s.failures for s in pool_500)} failed",
        peer=f"{median([s.wall for s in pool_50]):.0f} µs; raw httpx at 500: "
        f"{median([s.wall for s in results[500][RAW_HTTPX]]):.0f} µs, "
        f"{sum(s.failures for s in results[500][RAW_HTTPX])} failed",
        peer_name="ours at 50",
        ratio=median([s.wall for s in pool_500]) / median([s.wall for s in pool_50]),
        goal=3.0,
    )


def main() -> None:
    bench = Bench(__doc__)
    bench.parser.add_argument("--requests", type=int, default=2000, help="requests per round at concurrency 50/500")
    bench.parser.add_argument("--rounds", type=int, default=7)
    args = bench.parse()
    requests, rounds = (200, 2) if bench.quick else (args.requests, args.rounds)
    versions = (
        f"httpx {httpx.__version__}, aiohttp {aiohttp.__version__}, replicate {importlib.metadata.version('replicate')}"
    )
    bench.note(
        f"python {sys.version.split()[0]}, {versions}, cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}"
    )
    with raw_server_process() as server:
        size = len(httpx.get(f"{server.base_url}/v1/predictions/{PREDICTION_ID}").content)
        bench.note(
            f"server: benchmarks/_rawserver.py, GET /v1/predictions/{PREDICTION_ID} answers {size} bytes of JSON"
        )
        sequential(bench, server, requests // 2, rounds)
        asyncio.run(concurrent(bench, server, requests, rounds))
    bench.finish()


if __name__ == "__main__":
    main()
