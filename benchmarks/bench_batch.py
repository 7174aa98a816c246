"""Batches against the mock server over loopback: speed, rate limits and memory, side by side.

    .venv/bin/python benchmarks/bench_batch.py [--only speed,rate,memory] [--rounds R]

The mock server runs in a process of its own (so that its work does not share our GIL), at speed
1000: an echo prediction is final within a millisecond, so every contender spends its time on
HTTP, polling and its own overhead.

1. Speed: N echo predictions (default 10,000) at concurrency 200.
   - ours: `async_batch(...)`, results discarded; again with a results file (`output=`);
   - raw aiohttp: a hand-written loop over `aiohttp.ClientSession` doing the same create and
     poll (first poll after 0.1 s, then 1.5 times longer up to 1 s, as `wait` does), 200 at a
     time with a semaphore, no typed parsing, no retries, no results file: a floor;
   - SDK calls: the same loop with `async_create` + `async_wait` (httpx on the aiohttp
     transport, typed errors, retries): what the batch engine itself adds is ours minus this.
   Rounds alternate the contenders; printed: median and best seconds, ratio to raw aiohttp.
2. Rate limits: the server lets through R creates a second (a token bucket, `RateLimit`, R = 150
   and 300 by default); above that it answers 429 with `Retry-After`. N inputs, concurrency 200.
   - ours: `async_batch`: 429s pause every worker and the concurrency adapts;
   - naive: what users write today, `asyncio.gather` of `async_create` + `async_wait` under a
     semaphore of 200, each call retried by the client's own policy (429 honoured, 4 attempts).
   Printed: creating requests per input (1.0 is the minimum), the share of creates answered
   429, inputs lost, seconds (N / R is the minimum).
3. Memory: 100,000 echo inputs read from a file, results written to a file, by `batch` in a
   fresh process; its RSS sampled as results come. Printed: RSS after the first 1,000 results,
   the highest, and the growth.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import attrs

from extensions import async_batch, async_create, async_wait, batch, connect
from extensions.errors import APIError
from mock_server.models import ECHO

TOKEN = "bench-token"  # noqa: S105 (the mock server's test token)
FINAL = {"succeeded", "failed", "canceled"}
SPEED = 1000.0


# --- the mock server, in a process of its own ---------------------------------------------------


class RequestCounter:
    """ASGI middleware of the benchmark's server: answers counted by method and status."""

    def __init__(self, app: Any, counts: Counter[str]) -> None:
        self.app = app
        self.counts = counts

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]

        async def counted(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.counts[f"{method} {message['status']}"] += 1
            await send(message)

        await self.app(scope, receive, counted)


def serve(rate: float | None, burst: int) -> None:
    """Child process: a mock server (with a rate limit on creates) until stdin closes; each line
    `counts` on stdin is answered with the requests counted since the last one (JSON)."""
    from mock_server.testing import MockServer

    counts: Counter[str] = Counter()
    with MockServer(tokens=(TOKEN,), speed=SPEED, faults=True, record_requests=False) as server:
        if rate is not None:
            server.rate_limit("POST /v1/predictions", rate, burst=burst)
        print(server.base_url, flush=True)
        for line in sys.stdin:
            if line.strip() == "counts":
                taken = dict(counts)
                counts.clear()
                print(json.dumps(taken), flush=True)


@contextmanager
def mock_server_process(rate: float | None = None, burst: int = 1) -> Iterator[tuple[str, MockServerProcess]]:
    command = [sys.executable, __file__, "--serve", "--rate", str(rate or 0), "--burst", str(burst)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"the mock server did not start: {url!r}")
        yield url, MockServerProcess(process)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(30)


@attrs.frozen
class Requests:
    """What the server answered one contender."""

    creates: int  # POST /v1/predictions, whatever the answer
    refused: int  # of those, answered 429
    gets: int
    other: int

    @classmethod
    def of(cls, counts: dict[str, int]) -> Requests:
        def total(method: str, status: str = "") -> int:
            return sum(n for key, n in counts.items() if key.startswith(f"{method} {status}"))

        creates, gets = total("POST"), total("GET")
        return cls(creates, total("POST", "429"), gets, sum(counts.values()) - creates - gets)


class MockServerProcess:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.pid = process.pid

    def requests(self) -> Requests:
        """The requests answered since the last call."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("counts\n")
        self.process.stdin.flush()
        return Requests.of(json.loads(self.process.stdout.readline()))


# --- 1. speed -------------------------------------------------------------------------------------


async def raw_aiohttp(base_url: str, inputs: list[dict[str, Any]], concurrency: int) -> int:
    version = ECHO.split(":")[1]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    done = 0
    async with aiohttp.ClientSession(headers=headers) as session:
        semaphore = asyncio.Semaphore(concurrency)

        async def one(model_input: dict[str, Any]) -> None:
            nonlocal done
            async with semaphore:
                body = {"version": version, "input": model_input}
                async with session.post(f"{base_url}/v1/predictions", json=body) as response:
                    prediction = (await response.json())["data"]
                delay = 0.1
                while prediction["status"] not in FINAL:
                    await asyncio.sleep(delay)
                    delay = min(delay * 1.5, 1.0)
                    async with session.get(f"{base_url}/v1/predictions/{prediction['id']}") as response:
                        prediction = (await response.json())["data"]
                done += prediction["status"] == "succeeded"

        await asyncio.gather(*(one(model_input) for model_input in inputs))
    return done


async def ours(base_url: str, inputs: list[dict[str, Any]], concurrency: int, output: Path | None = None) -> int:
    done = 0
    async with (
        connect(TOKEN, base_url) as client,
        async_batch(client, ECHO, inputs, concurrency=concurrency, output=output) as results,
    ):
        async for result in results:
            done += result.succeeded
    return done


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_speed(count: int, concurrency: int, rounds: int) -> None:
    print(f"\n## speed: {count:,} echo predictions at concurrency {concurrency} ({rounds} rounds)")
    inputs = [{"n": n, "text": f"input {n}"} for n in range(count)]
    names = ("raw aiohttp", "SDK calls", "ours", "ours + results file")
    times: dict[str, list[float]] = {name: [] for name in names}
    client_cpu: dict[str, list[float]] = {name: [] for name in names}
    server_cpu: dict[str, list[float]] = {name: [] for name in names}
    requests: dict[str, list[Requests]] = {name: [] for name in names}
    with mock_server_process() as (base_url, server), tempfile.TemporaryDirectory() as folder:
        server.requests()
        for round_number in range(rounds):
            for name in names:
                output = Path(folder) / f"results-{round_number}.jsonl" if "file" in name else None
                started, cpu, server_started = time.perf_counter(), time.process_time(), cpu_seconds(server.pid)
                if name == "raw aiohttp":
                    done = asyncio.run(raw_aiohttp(base_url, inputs, concurrency))
                elif name == "SDK calls":
                    done = asyncio.run(sdk_calls(base_url, inputs, concurrency))
                else:
                    done = asyncio.run(ours(base_url, inputs, concurrency, output))
                times[name].append(time.perf_counter() - started)
                client_cpu[name].append(time.process_time() - cpu)
                server_cpu[name].append(cpu_seconds(server.pid) - server_started)
                requests[name].append(server.requests())
                assert done == count, f"{name}: {done} of {count} succeeded"
    floor = statistics.median(times["raw aiohttp"])
    print(
        f"{'contender':<22}{'median s':>10}{'best s':>10}{'ratio':>8}{'client CPU s':>14}{'server CPU s':>14}"
        f"{'creates/input':>15}{'GETs/input':>12}"
    )
    for name, values in times.items():
        median = statistics.median(values)
        creates = statistics.median(counted.creates for counted in requests[name]) / count
        gets = statistics.median(counted.gets for counted in requests[name]) / count
        print(
            f"{name:<22}{median:>10.2f}{min(values):>10.2f}{median / floor:>8.2f}"
            f"{statistics.median(client_cpu[name]):>14.2f}{statistics.median(server_cpu[name]):>14.2f}"
            f"{creates:>15.3f}{gets:>12.3f}"
        )


# --- 2. rate limits -------------------------------------------------------------------------------


async def sdk_calls(base_url: str, inputs: list[dict[str, Any]], concurrency: int) -> int:
    """`asyncio.gather` of `async_create` + `async_wait` under a semaphore: what users write today."""
    return await naive(base_url, inputs, concurrency)


async def naive(base_url: str, inputs: list[dict[str, Any]], concurrency: int) -> int:
    semaphore = asyncio.Semaphore(concurrency)
    async with connect(TOKEN, base_url) as client:

        async def one(model_input: dict[str, Any]) -> bool:
            async with semaphore:
                try:
                    prediction = await async_create(client, ECHO, model_input)
                    await async_wait(client, prediction)
                except APIError:
                    return False
                return True

        outcomes = await asyncio.gather(*(one(model_input) for model_input in inputs))
    return sum(outcomes)


def bench_rate(count: int, concurrency: int, rate: float, burst: int) -> None:
    print(f"\n## rate limits: {count:,} echo inputs at concurrency {concurrency}; {rate:g} creates/s allowed")
    inputs = [{"n": n} for n in range(count)]
    print(f"{'contender':<10}{'creates/input':>15}{'429 share':>11}{'lost':>6}{'seconds':>9}")
    for name in ("naive", "ours"):
        with mock_server_process(rate, burst) as (base_url, server):
            started = time.perf_counter()
            if name == "naive":
                done = asyncio.run(naive(base_url, inputs, concurrency))
            else:
                done = asyncio.run(ours(base_url, inputs, concurrency))
            seconds = time.perf_counter() - started
            created = server.requests().creates
        print(f"{name:<10}{created / count:>15.2f}{(created - done) / created:>11.0%}{count - done:>6}{seconds:>9.1f}")


# --- 3. memory ------------------------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_run(base_url: str, inputs: Path, output: Path, concurrency: int) -> None:
    """Child process: run the batch from a file to a file; print RSS samples as JSON."""
    client = connect(TOKEN, base_url)
    samples: list[tuple[int, float]] = []
    done = 0
    for result in batch(client, ECHO, inputs, concurrency=concurrency, output=output):
        done += result.succeeded
        if done % 1000 == 0:
            samples.append((done, rss_mb()))
    samples.append((done, rss_mb()))
    print(json.dumps({"done": done, "samples": samples}), flush=True)


def bench_memory(count: int, concurrency: int) -> None:
    print(f"\n## memory: {count:,} echo inputs from a file, results to a file, concurrency {concurrency}")
    with mock_server_process() as (base_url, _), tempfile.TemporaryDirectory() as folder:
        inputs = Path(folder) / "inputs.jsonl"
        with inputs.open("w") as file:
            for n in range(count):
                file.write(json.dumps({"n": n, "text": f"input line {n}", "tags": ["a", "b", "c"]}) + "\n")
        output = Path(folder) / "results.jsonl"
        started = time.perf_counter()
        child = subprocess.run(  # noqa: S603 (this script)
            [sys.executable, __file__, "--memory-run", base_url, str(inputs), str(output), str(concurrency)],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - started
        report = json.loads(child.stdout.strip().splitlines()[-1])
        lines = sum(1 for _ in output.open())
    samples = report["samples"]
    warm = samples[0][1]
    peak = max(rss for _, rss in samples)
    print(f"succeeded {report['done']:,} of {count:,} in {seconds:.0f} s; results file: {lines:,} lines")
    print(f"RSS after 1,000 results {warm:.1f} MB, highest {peak:.1f} MB, at the end {samples[-1][1]:.1f} MB")
    print(f"growth: {peak - warm:.1f} MB")
    tenths = [samples[min(len(samples) - 1, len(samples) * tenth // 10)] for tenth in range(1, 11)]
    print("RSS by tenths of the run (MB): " + ", ".join(f"{rss:.1f}" for _, rss in tenths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="speed,rate,memory")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=10_000, help="inputs of the speed benchmark")
    parser.add_argument("--rate-count", type=int, default=3_000, help="inputs of the rate-limit benchmark")
    parser.add_argument("--memory-count", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rates", default="150,300", help="creates per second the server allows (one run each)")
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--rate", type=float, default=0.0, help=argparse.SUPPRESS)  # for --serve
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory-run", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.rate or None, args.burst)
        return
    if args.memory_run:
        base_url, inputs, output, concurrency = args.memory_run
        memory_run(base_url, Path(inputs), Path(output), int(concurrency))
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, mock server speed {SPEED:g}")
    chosen = args.only.split(",")
    if "speed" in chosen:
        bench_speed(args.count, args.concurrency, args.rounds)
    if "rate" in chosen:
        for rate in args.rates.split(","):
            bench_rate(args.rate_count, args.concurrency, float(rate), args.burst)
    if "memory" in chosen:
        bench_memory(args.memory_count, args.concurrency)


if __name__ == "__main__":
    main()
