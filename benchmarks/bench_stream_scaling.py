"""Long streams: CPU per piece from 1k to 32k pieces, and memory at 1M and 2M pieces, side by side in one run.

    .venv/bin/python benchmarks/bench_stream_scaling.py [--rounds R] [--quick]

A prediction's event stream of N `output` pieces, served whole and at once by benchmarks/_rawserver.py
in its own process (the mock server caps a stream at 2,048 pieces and paces it): what is timed is
the client's CPU time (`time.process_time`), its wall time beside it. Contenders, over the same
events:
- `wait()`: follows the stream to `done`, then one GET of the final prediction (N pieces of JSON);
- `wait(on_update=...)`: the same, hearing of every piece (a callback that only counts);
- `stream_prediction`: iterating the pieces;
- httpx-sse: `connect_sse(...).iter_sse()` over the same GET, checking each event's type (a floor:
  no resume, no limits, no typed errors).

Per piece the cost must stay flat as N grows; the aim is `wait()` at most 1.5x `stream_prediction`
at 32k pieces. Memory: a fresh process per contender follows a 1M- and a 2M-piece stream, and
reports its peak resident set growth (VmHWM at the end less VmRSS before); beyond what httpx-sse
needs to read the same stream, a stream must hold at most 2x its text plus a constant (the slope
between the two sizes is the figure: what grows with the text).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
from _harness import Bench, fmt_ratio, interleave, median, ratios, reset_peak, spread, status_bytes
from _rawserver import TOKEN, pieces, prediction_json, raw_server
from httpx_sse import connect_sse

from inference_api.connection import InferenceClient, connect
from inference_api.streaming import stream_prediction
from inference_api.waiting import wait
from inference_api_client.models.prediction import Prediction


def streaming(base_url: str, count: int) -> Prediction:
    return Prediction.from_dict(prediction_json(base_url, count, status="starting"))


def contenders(client: InferenceClient, prediction: Prediction) -> dict[str, Callable[[], Any]]:
    http = client.get_httpx_client()

    def ours_wait() -> Any:
        return wait(client, prediction)

    def ours_wait_updates() -> Any:
        updates = 0

        def count(_: Prediction) -> None:
            nonlocal updates
            updates += 1

        return wait(client, prediction, on_update=count)

    def ours_stream() -> Any:
        count = 0
        for _ in stream_prediction(client, prediction):
            count += 1
        return count

    def httpx_sse() -> Any:
        count = 0
        assert isinstance(prediction.urls.stream, str)
        with connect_sse(http, "GET", prediction.urls.stream) as source:
            for event in source.iter_sse():
                if event.event == "output":
                    count += 1
                elif event.event == "done":
                    break
        return count

    return {
        "wait()": ours_wait,
        "wait(on_update=…)": ours_wait_updates,
        "stream_prediction": ours_stream,
        "httpx-sse": httpx_sse,
    }


def timed(run: Callable[[], Any], cpu: dict[str, list[float]], name: str) -> Callable[[], float]:
    def once() -> float:
        wall = time.perf_counter()
        started = time.process_time()
        run()
        cpu[name].append(time.process_time() - started)
        return time.perf_counter() - wall

    return once


def scaling(bench: Bench, base_url: str, counts: list[int], rounds: int) -> None:
    client = connect(TOKEN, base_url)
    rows = []
    per_piece: dict[str, list[float]] = {}
    at_largest: dict[str, list[float]] = {}
    for count in counts:
        prediction = streaming(base_url, count)
        runs = contenders(client, prediction)
        for run in runs.values():  # warm-up: connections, imports, the server's cached bodies
            run()
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        wall = interleave({name: timed(run, cpu, name) for name, run in runs.items()}, rounds)
        for name in runs:
            per_piece.setdefault(name, []).append(median(cpu[name]) / count * 1e6)
            rows.append(
                [
                    f"{count:,} pieces: {name}",
                    f"{median(cpu[name]) * 1e3:.1f}",
                    spread(cpu[name], 1e3, 1),
                    f"{median(wall[name]) * 1e3:.1f}",
                    f"{median(cpu[name]) / count * 1e6:.2f}",
                    fmt_ratio(ratios(cpu[name], cpu["stream_prediction"])),
                ]
            )
        at_largest = cpu
    bench.table(
        f"CPU per stream, {rounds} interleaved rounds (client process only)",
        ["contender", "CPU ms (median)", "spread", "wall ms", "µs/piece", "CPU vs stream_prediction"],
        rows,
    )
    growth = [
        [name, *(f"{value:.2f}" for value in values), f"{values[-1] / values[0]:.2f}x"]
        for name, values in per_piece.items()
    ]
    bench.table(
        "µs of CPU per piece as the stream grows (flat is linear)",
        ["contender", *(f"{count:,}" for count in counts), f"{counts[-1]:,} vs {counts[0]:,}"],
        growth,
    )
    bench.aim_ratios(
        f"wait() on a {counts[-1]:,}-piece stream, CPU",
        at_largest["wait()"],
        at_largest["stream_prediction"],
        peer_name="stream_prediction",
        goal=1.5,
        unit="ms",
        scale=1e3,
    )


# --- memory, in a fresh process per contender ----------------------------------------------------------


def _probe(contender: str, base_url: str, count: int) -> None:
    """In the child: follow the stream without keeping pieces; print the growth as JSON."""
    client = connect(TOKEN, base_url)
    prediction = streaming(base_url, count)
    http = client.get_httpx_client()
    http.get(f"{base_url}/v1/predictions/p1").read()  # warm-up: modules and the connection
    list(stream_prediction(client, streaming(base_url, 1)))
    reset_peak()
    before = status_bytes("VmRSS")
    text_length = 0
    if contender == "stream_prediction":
        text = stream_prediction(client, prediction)
        for _ in text:
            pass
        text_length = len(text.text)  # read once, at the end: the text a caller gets
    elif contender == "httpx-sse":
        assert isinstance(prediction.urls.stream, str)
        with connect_sse(http, "GET", prediction.urls.stream) as source:
            for event in source.iter_sse():
                if event.event == "output":
                    text_length += len(event.data)
    elif contender == "wait()":
        wait(client, prediction)
        text_length = len("".join(pieces(count)))
    print(json.dumps({"growth": status_bytes("VmHWM") - before, "text_length": text_length}))


def _growth(base_url: str, contender: str, count: int) -> int:
    command = [sys.executable, __file__, "--probe", contender, base_url, str(count)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603 (ours)
    return int(json.loads(output)["growth"])


def memory(bench: Bench, base_url: str, counts: tuple[int, int]) -> None:
    """Peak growth at two sizes: what grows with the text (the slope) and what does not."""
    small, large = counts
    text = {count: len("".join(pieces(count))) for count in counts}  # characters: a byte each here
    growth = {
        (contender, count): _growth(base_url, contender, count)
        for count in counts
        for contender in ("stream_prediction", "httpx-sse")
    }
    growth["wait()", small] = _growth(base_url, "wait()", small)
    rows = []
    for (contender, count), grown in growth.items():
        beyond = grown - growth["httpx-sse", count]
        rows.append(
            [
                f"{count:,} pieces: {contender}",
                f"{text[count] / 2**20:.2f}",
                f"{grown / 2**20:.2f}",
                f"{beyond / 2**20:.2f}",
                f"{beyond / text[count]:.2f}x",
            ]
        )
    bench.table(
        "peak memory growth following a stream (fresh process each; VmHWM less VmRSS before)",
        ["contender", "text MiB", "growth MiB", "beyond httpx-sse MiB", "beyond httpx-sse, vs the text"],
        rows,
        note="stream_prediction keeps the text and it is read once, at the end (`.text`); httpx-sse keeps "
        "nothing: what reading the stream costs by itself. wait() keeps the pieces as the prediction's output "
        "list, then parses the final GET (the pieces again, as JSON): a list of strings is ~60 bytes a piece.",
    )

    def held(count: int) -> int:
        return growth["stream_prediction", count] - growth["httpx-sse", count]

    slope = (held(large) - held(small)) / (text[large] - text[small])
    constant = held(large) - slope * text[large]
    bench.note(
        f"held for the text beyond httpx-sse: {slope:.2f} x the text + {constant / 2**20:.2f} MiB "
        f"(from {small:,} and {large:,} pieces); the text is held once, grown in place (TextSoFar)"
    )
    bench.aim(
        "memory a stream holds per byte of text (slope, beyond httpx-sse)",
        ours=f"{slope:.2f} x text + {constant / 2**20:.1f} MiB",
        peer=f"+{growth['httpx-sse', large] / 2**20:.1f} MiB at {large:,} pieces, keeping no text",
        peer_name="httpx-sse",
        ratio=slope,
        goal=2.0,
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        _probe(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    bench = Bench(__doc__)
    bench.parser.add_argument("--rounds", type=int, default=7)
    bench.parser.add_argument("--memory-only", action="store_true", help="only the memory figures")
    args = bench.parse()
    counts = [1_000, 8_000] if bench.quick else [1_000, 8_000, 16_000, 32_000]
    rounds = 2 if bench.quick else args.rounds
    versions = f"httpx {httpx.__version__}"
    bench.note(f"python {sys.version.split()[0]}, {versions}")
    with raw_server() as base_url:
        if not args.memory_only:
            scaling(bench, base_url, counts, rounds)
        memory(bench, base_url, (100_000, 200_000) if bench.quick else (1_000_000, 2_000_000))
    bench.finish()


if __name__ == "__main__":
    main()
