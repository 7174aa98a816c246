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
   Rounds alternate the contenders; printed: median and best seconds, ratio to raw aiohttp,
   client and server CPU seconds, and the creates and polls per input each made (counted by
   the server): every contender should make the same requests.
2. Rate limits, N inputs at concurrency 200, two cases:
   - a rate-limited server: it lets through R creates a second (a token bucket, `RateLimit`,
     bursts of 20) and answers the rest 429 with `Retry-After`. By default R is calibrated in
     each run (short runs, bisection) so that the naive client sees about 30% of its creates
     answered 429, since that share depends on how fast the client is;
   - random refusals: the server answers a random 30% of creates 429 (no `Retry-After`),
     whatever the load (the mock server's fault plan, `probability=0.3`). Nothing avoids them:
     1 / (1 - 0.3) = 1.43 creates per input is the floor for any client that finishes every input.
   Contenders: ours, `async_batch`: 429s pause every worker and the concurrency adapts; naive,
   what users write today: `asyncio.gather` of `async_create` + `async_wait` under a semaphore
   of 200, each call retried by the client's own policy (429 honoured, 4 attempts).
   Printed per input: creates (429s included), the share answered 429, polls, all requests and
   their ratio to the minimum (one create and one poll per input: an echo prediction is final
   at its first poll), inputs lost, seconds (N / R is the floor).
3. Throughput under random refusals: N echo inputs (default 2,000) at concurrency 200 against
   a server refusing 0%, 30% and 50% of creates at random (429, no `Retry-After`). Printed per
   share: inputs/s of ours and naive, and ours' rate as a share of its own rate at 0% (aim: at
   least 0.5 at 50%: a batch must not take random refusals for load and crawl).
4. Memory: 100,000 echo inputs read from a file, results written to a file, by `batch` in a
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

from inference_api import async_batch, async_create, async_wait, batch, connect
from inference_api.errors import APIError
from inference_api_mock.models import ECHO

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


@attrs.frozen
class Limits:
    """What the benchmark's server does to creates: a rate limit (creates/s, burst), random 429s."""

    rate: float | None = None
    burst: int = 20
    refuse_share: float = 0.0

    def options(self) -> list[str]:
        return ["--rate", str(self.rate or 0), "--burst", str(self.burst), "--refuse-share", str(self.refuse_share)]


def serve(limits: Limits) -> None:
    """Child process: a mock server until stdin closes; each line `counts` on stdin is answered
    with the requests counted since the last one (JSON)."""
    from inference_api_mock.testing import MockServer

    counts: Counter[str] = Counter()
    server = MockServer(tokens=(TOKEN,), speed=SPEED, faults=True, record_requests=False)
    server.app.add_middleware(RequestCounter, counts=counts)  # outermost: sees every answer
    with server:
        if limits.rate:
            server.rate_limit("POST /v1/predictions", limits.rate, burst=limits.burst)
        if limits.refuse_share:  # refusals at random, whatever the load: nothing a client does avoids them
            server.fault("POST /v1/predictions", status=429, times=10**9, probability=limits.refuse_share)
        print(server.base_url, flush=True)
        for line in sys.stdin:
            if line.strip() == "counts":
                taken = dict(counts)
                counts.clear()
                print(json.dumps(taken), flush=True)


@contextmanager
def mock_server_process(limits: Limits | None = None) -> Iterator[tuple[str, MockServerProcess]]:
    command = [sys.executable, __file__, "--serve", *(limits or Limits()).options()]
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


Outcome = tuple[Requests, int, float]  # the requests a contender made, inputs succeeded, seconds


def run_limited(name: str, count: int, concurrency: int, limits: Limits) -> Outcome:
    """One contender against a server with `limits`: its requests, inputs succeeded, seconds."""
    inputs = [{"n": n} for n in range(count)]
    with mock_server_process(limits) as (base_url, server):
        started = time.perf_counter()
        if name == "naive":
            done = asyncio.run(naive(base_url, inputs, concurrency))
        else:
            done = asyncio.run(ours(base_url, inputs, concurrency))
        return server.requests(), done, time.perf_counter() - started


def calibrate(count: int, concurrency: int, burst: int, target: float = 0.30) -> tuple[float, Outcome]:
    """The creates/s at which the naive client sees about `target` of its creates answered 429,
    and that naive run.

    How often a client is refused depends on how fast it is (and a short run, dominated by its
    first burst, sees more than a long one), so the rate is looked for in each run, with runs of
    the benchmark's own length: bisection on a log scale until the share is within 2.5 points.
    """
    low, high, rate = 30.0, 3000.0, 300.0
    for _ in range(8):
        outcome = run_limited("naive", count, concurrency, Limits(rate, burst))
        requests = outcome[0]
        share = requests.refused / requests.creates
        print(f"  {rate:.0f} creates/s allowed: naive sees {share:.1%} of its creates answered 429")
        if abs(share - target) <= 0.025:
            break
        low, high = (rate, high) if share > target else (low, rate)
        rate = (low * high) ** 0.5
    return rate, outcome


def bench_rate(count: int, concurrency: int, limits: Limits | None, burst: int) -> None:
    """`ours` against `naive`; requests per input against the minimum (one create and one poll each:
    an echo prediction is final at its first poll). `limits` None: calibrated, see `calibrate`."""
    outcomes: dict[str, Outcome] = {}
    if limits is None:
        print(f"\n## rate limits: calibrating the server's rate on {count:,} inputs")
        rate, outcomes["naive"] = calibrate(count, concurrency, burst)
        limits = Limits(rate, burst)
    if limits.rate:
        what = f"the server allows {limits.rate:.0f} creates/s (bursts of {limits.burst})"
    else:
        what = f"the server answers a random {limits.refuse_share:.0%} of creates 429"
    print(f"\n## rate limits: {count:,} echo inputs at concurrency {concurrency}; {what}")
    print(
        f"{'contender':<10}{'creates/input':>15}{'429 share':>11}{'GETs/input':>12}{'requests/input':>16}"
        f"{'x minimum':>11}{'lost':>6}{'seconds':>9}"
    )
    for name in ("naive", "ours"):
        if name not in outcomes:
            outcomes[name] = run_limited(name, count, concurrency, limits)
        requests, done, seconds = outcomes[name]
        total = requests.creates + requests.gets + requests.other
        print(
            f"{name:<10}{requests.creates / count:>15.3f}{requests.refused / requests.creates:>11.1%}"
            f"{requests.gets / count:>12.3f}{total / count:>16.3f}{total / (2 * count):>11.3f}"
            f"{count - done:>6}{seconds:>9.1f}"
        )


# --- 3. throughput under random refusals ---------------------------------------------------------


def bench_refusals(count: int, concurrency: int, shares: list[float], rounds: int) -> None:
    """Inputs/s at each share of random refusals, for ours and naive, in interleaved rounds (the
    machine's load changes during a run: each round runs every share once); medians, and ours
    against its own 0% rate."""
    print(
        f"\n## random refusals: {count:,} echo inputs at concurrency {concurrency}, 429 without Retry-After "
        f"({rounds} rounds, medians)"
    )
    rates: dict[tuple[str, float], list[float]] = {}
    creates: dict[float, list[float]] = {}
    lost: dict[tuple[str, float], list[int]] = {}
    for _ in range(rounds):
        for share in shares:
            for name in ("ours", "naive"):
                requests, done, seconds = run_limited(name, count, concurrency, Limits(refuse_share=share))
                rates.setdefault((name, share), []).append(done / seconds)
                lost.setdefault((name, share), []).append(count - done)
                if name == "ours":
                    creates.setdefault(share, []).append(requests.creates / count)
    print(
        f"{'refused':>8}{'ours /s':>10}{'naive /s':>10}{'ours vs 0%':>12}{'per round':>24}"
        f"{'ours creates/input':>20}{'ours lost':>11}{'naive lost':>12}"
    )
    base = rates[("ours", shares[0])]
    for share in shares:
        ours = rates[("ours", share)]
        per_round = ", ".join(f"{rate / first:.2f}" for rate, first in zip(ours, base, strict=True))
        print(
            f"{share:>8.0%}{statistics.median(ours):>10.0f}{statistics.median(rates[('naive', share)]):>10.0f}"
            f"{statistics.median(ours) / statistics.median(base):>12.2f}{per_round:>24}"
            f"{statistics.median(creates[share]):>20.3f}{max(lost[('ours', share)]):>11}"
            f"{max(lost[('naive', share)]):>12}"
        )
    print(
        f"aim: ours at {shares[-1]:.0%} >= 0.50 of ours at {shares[0]:.0%} (median; per round: the same round's rates)"
    )


# --- 4. memory ------------------------------------------------------------------------------------


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
    parser.add_argument("--only", default="speed,rate,refusals,memory")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=10_000, help="inputs of the speed benchmark")
    parser.add_argument("--rate-count", type=int, default=3_000, help="inputs of the rate-limit benchmark")
    parser.add_argument("--memory-count", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument(
        "--rates",
        default="auto",
        help="creates/s the server allows, one run each; auto: where a naive client sees 30%% of 429s",
    )
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--refuse-share", type=float, default=0.3, help="the random case: share of creates refused")
    parser.add_argument("--random-count", type=int, default=1_000, help="inputs of the random-429 case")
    parser.add_argument(
        "--refusals-count", type=int, default=2_000, help="inputs of the throughput-under-refusals case"
    )
    parser.add_argument(
        "--refusal-shares", default="0,0.3,0.5", help="shares of creates refused at random, one run each"
    )
    parser.add_argument("--rate", type=float, default=0.0, help=argparse.SUPPRESS)  # for --serve
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory-run", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Limits(args.rate or None, args.burst, args.refuse_share))
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
            limits = None if rate == "auto" else Limits(float(rate), args.burst)
            bench_rate(args.rate_count, args.concurrency, limits, args.burst)
        if args.refuse_share:
            bench_rate(args.random_count, args.concurrency, Limits(refuse_share=args.refuse_share), args.burst)
    if "refusals" in chosen:
        shares = [float(share) for share in args.refusal_shares.split(",")]
        bench_refusals(args.refusals_count, args.concurrency, shares, args.rounds)
    if "memory" in chosen:
        bench_memory(args.memory_count, args.concurrency)


if __name__ == "__main__":
    main()
