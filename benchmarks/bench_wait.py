"""How soon wait() returns once a prediction completes, and how many requests it makes, side by side.

    .venv/bin/python benchmarks/bench_wait.py [--speed S] [--instant N] [--short N] [--long N] [--quick]

Against the mock server under uvicorn over loopback, each trial creates one prediction per
contender and waits for all of them at once, in threads (waiting is sleeping, so they barely
compete for the CPU):
- replicate: replicate-python 1.0.7's own `Prediction.wait()` (sleep `poll_interval` = 0.5 s, then
  `reload()`), its real client pointed at the mock server through a transport that unwraps the
  API's `{"data": ...}` envelope (replicate's API has none);
- ours, polling: `inference_api.waiting.wait` on a prediction without a stream (0.1 s, x1.5, up to 1 s);
- ours, stream: `wait` on a prediction created with `stream=True` (follows its event stream).

Latency is the wall-clock time from the prediction's `completed_at` (set by the server) to the
moment wait returned; requests are the GETs (prediction and stream) the server saw for it. Each
trial draws its prediction length at random (the same for every contender in the trial), so that
completion falls anywhere between two polls: short ones run 0.3-2 s, long ones 8-18 s (at the
default speed 2.0: 0.25 s boot, then 40 tokens per second); "instant" ones (mock/echo) only
boot, 0.25 s.
"""

from __future__ import annotations

import datetime
import json
import random
import statistics
import threading
from collections.abc import Callable
from typing import Any

import httpx
from _harness import Bench
from replicate.client import Client as ReplicateClient

from inference_api.calls import create
from inference_api.connection import connect
from inference_api.waiting import wait
from inference_api_mock.models import ECHO, LLAMA
from inference_api_mock.testing import MockServer

CONTENDERS = ("replicate (0.5 s)", "ours, polling", "ours, stream")
Waiter = Callable[[MockServer], tuple[str, datetime.datetime, datetime.datetime]]


class UnwrapEnvelope(httpx.HTTPTransport):
    """Hands replicate the prediction inside `{"data": ...}`, as its own API would send it."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        try:
            payload = json.loads(response.content)
        except ValueError:
            return response
        if not (isinstance(payload, dict) and isinstance(payload.get("data"), dict)):
            return response
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-encoding")}
        return httpx.Response(response.status_code, headers=headers, json=payload["data"], request=request)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def parse_time(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def replicate_waiter(model: str, model_input: dict[str, Any]) -> Waiter:
    def run(server: MockServer) -> tuple[str, datetime.datetime, datetime.datetime]:
        # The prediction is created with our client: replicate's create needs its own API's body.
        ours = connect(server.token, server.base_url)
        prediction_id = create(ours, model, model_input).id
        client = ReplicateClient(api_token=server.token, base_url=server.base_url, transport=UnwrapEnvelope())
        prediction = client.predictions.get(prediction_id)
        prediction.wait()
        returned = now()
        return prediction_id, parse_time(prediction.completed_at), returned

    return run


def our_waiter(model: str, model_input: dict[str, Any], *, streaming: bool) -> Waiter:
    def run(server: MockServer) -> tuple[str, datetime.datetime, datetime.datetime]:
        client = connect(server.token, server.base_url)
        prediction = create(client, model, model_input, stream=streaming)
        final = wait(client, prediction)
        returned = now()
        return prediction.id, parse_time(final.completed_at), returned

    return run


def requests_for(server: MockServer, prediction_id: str) -> int:
    paths = (f"/v1/predictions/{prediction_id}", f"/v1/predictions/{prediction_id}/stream")
    return sum(1 for request in server.requests if request.method == "GET" and request.path in paths)


def trial(server: MockServer, waiters: dict[str, Waiter]) -> dict[str, tuple[float, int]]:
    results: dict[str, tuple[str, datetime.datetime, datetime.datetime]] = {}
    errors: list[BaseException] = []

    def run(name: str, waiter: Waiter) -> None:
        try:
            results[name] = waiter(server)
        except BaseException as error:  # reported below, from the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=item) for item in waiters.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return {
        name: ((returned - completed).total_seconds(), requests_for(server, prediction_id))
        for name, (prediction_id, completed, returned) in results.items()
    }


def report(bench: Bench, title: str, samples: dict[str, list[tuple[float, int]]]) -> dict[str, float]:
    """The table; returns each contender's median latency."""
    base_latency = statistics.median(latency for latency, _ in samples["replicate (0.5 s)"])
    base_requests = statistics.mean(count for _, count in samples["replicate (0.5 s)"])
    rows = []
    medians = {}
    for name, values in samples.items():
        latencies = sorted(latency for latency, _ in values)
        requests = statistics.mean(count for _, count in values)
        middle = medians[name] = statistics.median(latencies)
        p90 = latencies[min(len(latencies) - 1, int(0.9 * len(latencies)))]
        rows.append(
            [
                name,
                f"{middle * 1000:.0f}",
                f"{p90 * 1000:.0f}",
                f"{latencies[-1] * 1000:.0f}",
                f"{requests:.1f}",
                f"{base_latency / middle:.1f}x sooner, {requests / base_requests:.2f}x requests",
            ]
        )
    bench.table(title, ["contender", "latency ms (median)", "p90", "max", "requests/wait", "vs replicate"], rows)
    return medians


def main() -> None:
    bench = Bench(__doc__)
    bench.parser.add_argument("--speed", type=float, default=2.0, help="mock server speed (1.0 looks real)")
    bench.parser.add_argument("--instant", type=int, default=10, help="trials with predictions that only boot")
    bench.parser.add_argument("--short", type=int, default=10, help="trials with short predictions")
    bench.parser.add_argument("--long", type=int, default=4, help="trials with long predictions")
    args = bench.parse()
    if bench.quick:
        args.instant, args.short, args.long = 2, 2, 0

    lengths = random.Random(2024)  # noqa: S311 (benchmark workload, not a secret)

    def chat(low: int, high: int) -> Callable[[], tuple[str, dict[str, Any]]]:
        def workload() -> tuple[str, dict[str, Any]]:
            tokens = lengths.randint(low, high)
            return LLAMA, {"prompt": "Plan a day", "max_new_tokens": tokens, "min_new_tokens": tokens}

        return workload

    with MockServer(tokens=("bench-token",), speed=args.speed) as server:
        for kind, title, workload, trials in (
            (
                "instant",
                f"instant: mock/echo, only the boot ({args.instant} trials)",
                lambda: (ECHO, {"a": 1}),
                args.instant,
            ),
            ("short", f"short: chat, 2-70 tokens ({args.short} trials)", chat(2, 70), args.short),
            ("long", f"long: chat, 300-700 tokens ({args.long} trials)", chat(300, 700), args.long),
        ):
            if not trials:
                continue
            samples: dict[str, list[tuple[float, int]]] = {name: [] for name in CONTENDERS}
            for _ in range(trials):
                model, model_input = workload()
                waiters = {
                    "replicate (0.5 s)": replicate_waiter(model, model_input),
                    "ours, polling": our_waiter(model, model_input, streaming=False),
                    "ours, stream": our_waiter(model, model_input, streaming=True),
                }
                for name, sample in trial(server, waiters).items():
                    samples[name].append(sample)
            medians = report(bench, title, samples)
            if kind in ("instant", "short"):
                replicate = medians["replicate (0.5 s)"]
                for ours in ("ours, stream", "ours, polling"):
                    bench.aim(
                        f"wait() on {kind} predictions, {ours}: completion to return",
                        ours=f"{medians[ours] * 1000:.0f} ms",
                        peer=f"{replicate * 1000:.0f} ms",
                        peer_name="replicate's wait() (0.5 s polls)",
                        ratio=medians[ours] / replicate,
                        goal=None,
                    )
    bench.finish()


if __name__ == "__main__":
    main()
