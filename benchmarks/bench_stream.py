"""Streaming run_sse: time to first token and total time, ours against httpx-sse, side by side.

    .venv/bin/python benchmarks/bench_stream.py [--rounds R] [--tokens N] [--speed S] [--quick]

Both read `POST /v1/run_sse` from the mock server under uvicorn over loopback, through the same
httpx client (sync: httpx's own; async: what `connect()` configures, the aiohttp transport when
installed), and collect the `output` texts until `done`:
- ours: `inference_api.streaming.stream` / `async_stream`;
- httpx-sse: `connect_sse(...).iter_sse()` / `aconnect_sse(...).aiter_sse()`, checking
  `event` for output and done (what a user of httpx-sse writes).

Rounds are interleaved (each contender once per round, order alternating) so noise hits both
alike. At the default speed the mock server generates far faster than a real model, so the
figures show the client's overhead, not a model's pace; at `--speed 1` both are paced by the model.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

import anyio
from _harness import Bench, fmt_ratio, ratios
from httpx_sse import aconnect_sse, connect_sse

from inference_api.connection import InferenceClient, connect
from inference_api.streaming import async_stream, stream
from inference_api_mock.models import LLAMA
from inference_api_mock.testing import MockServer

Timing = tuple[float, float, int]  # seconds to the first piece, seconds in all, pieces


def ours_sync(client: InferenceClient, model_input: dict[str, object]) -> Timing:
    start = time.perf_counter()
    first, count = 0.0, 0
    for _ in stream(client, LLAMA, model_input):
        if not count:
            first = time.perf_counter() - start
        count += 1
    return first, time.perf_counter() - start, count


def httpx_sse_sync(client: InferenceClient, model_input: dict[str, object]) -> Timing:
    start = time.perf_counter()
    first, count = 0.0, 0
    body = {"model": LLAMA, "input": model_input}
    with connect_sse(client.get_httpx_client(), "POST", "/v1/run_sse", json=body) as source:
        for event in source.iter_sse():
            if event.event == "output":
                if not count:
                    first = time.perf_counter() - start
                count += 1
            elif event.event == "done":
                break
    return first, time.perf_counter() - start, count


async def ours_async(client: InferenceClient, model_input: dict[str, object]) -> Timing:
    start = time.perf_counter()
    first, count = 0.0, 0
    async with async_stream(client, LLAMA, model_input) as pieces:
        async for _ in pieces:
            if not count:
                first = time.perf_counter() - start
            count += 1
    return first, time.perf_counter() - start, count


async def httpx_sse_async(client: InferenceClient, model_input: dict[str, object]) -> Timing:
    start = time.perf_counter()
    first, count = 0.0, 0
    body = {"model": LLAMA, "input": model_input}
    async with aconnect_sse(client.get_async_httpx_client(), "POST", "/v1/run_sse", json=body) as source:
        async for event in source.aiter_sse():
            if event.event == "output":
                if not count:
                    first = time.perf_counter() - start
                count += 1
            elif event.event == "done":
                break
    return first, time.perf_counter() - start, count


def report(bench: Bench, title: str, results: dict[str, list[Timing]]) -> list[float]:
    """The table; returns ours' total time over httpx-sse's, round by round."""
    counts = {count for timings in results.values() for _, _, count in timings}
    base = [total for _, total, _ in results["httpx-sse"]]
    rows = []
    for name, timings in results.items():
        first = statistics.median(t for t, _, _ in timings)
        total = statistics.median(t for _, t, _ in timings)
        rate = statistics.median(count / t for _, t, count in timings)
        rows.append(
            [
                name,
                f"{first * 1000:.2f}",
                f"{total * 1000:.1f}",
                f"{rate:,.0f}",
                fmt_ratio(ratios([t for _, t, _ in timings], base)),
            ]
        )
    note = "" if len(counts) == 1 else f"warning: the contenders received different numbers of pieces: {sorted(counts)}"
    bench.table(title, ["contender", "first piece ms", "total ms", "pieces/s", "total vs httpx-sse"], rows, note)
    return ratios([t for _, t, _ in results["ours"]], base)


def main() -> None:
    bench = Bench(__doc__)
    bench.parser.add_argument("--rounds", type=int, default=15)
    bench.parser.add_argument("--tokens", type=int, default=2000)
    bench.parser.add_argument("--speed", type=float, default=10_000.0, help="mock server speed (1.0 looks real)")
    args = bench.parse()
    rounds, tokens = (3, 300) if bench.quick else (args.rounds, args.tokens)
    model_input: dict[str, object] = {
        "prompt": "Plan a day",
        "max_new_tokens": tokens,
        "min_new_tokens": tokens,
    }

    with MockServer(tokens=("bench-token",), speed=args.speed) as server:
        client = connect(server.token, server.base_url)
        sync_contenders: dict[str, Callable[[InferenceClient, dict[str, object]], Timing]] = {
            "ours": ours_sync,
            "httpx-sse": httpx_sse_sync,
        }
        sync_results: dict[str, list[Timing]] = {name: [] for name in sync_contenders}
        for warm_up in sync_contenders.values():  # warm-up: connections, imports
            warm_up(client, model_input)
        for round_number in range(rounds):
            order = list(sync_contenders.items())
            for name, run in order if round_number % 2 else reversed(order):
                sync_results[name].append(run(client, model_input))
        sync_ratios = report(bench, f"sync, {tokens} pieces, {rounds} rounds (httpx.Client)", sync_results)

        async_contenders: dict[str, Callable[[InferenceClient, dict[str, object]], Awaitable[Timing]]] = {
            "ours": ours_async,
            "httpx-sse": httpx_sse_async,
        }
        async_results: dict[str, list[Timing]] = {name: [] for name in async_contenders}

        async def run_async() -> None:
            for async_warm_up in async_contenders.values():
                await async_warm_up(client, model_input)
            for round_number in range(rounds):
                order = list(async_contenders.items())
                for name, run in order if round_number % 2 else reversed(order):
                    async_results[name].append(await run(client, model_input))
            await client.get_async_httpx_client().aclose()

        anyio.run(run_async)
        transport = type(client.get_async_httpx_client()._transport).__name__
        title = f"async, {tokens} pieces, {rounds} rounds (httpx.AsyncClient on {transport})"
        async_ratios = report(bench, title, async_results)
    for mode, per_round in (("sync", sync_ratios), ("async", async_ratios)):
        bench.aim(
            f"streaming {tokens} pieces from the mock server ({mode}), total time",
            ours=f"{statistics.median(per_round):.2f}x httpx-sse's time",
            peer="the same POST /v1/run_sse",
            peer_name="httpx-sse",
            per_round=per_round,
            goal=None,
        )
    bench.finish()


if __name__ == "__main__":
    main()
