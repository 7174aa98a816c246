"""Throughput of SSE decoders on small token events, side by side in one run.

    .venv/bin/python benchmarks/bench_sse.py [--events N] [--rounds R] [--quick]

Every decoder gets the same byte chunks and does all the work from bytes to event objects:
- ours: `inference_api.sse.SSEDecoder.feed` per chunk, and `iter_events` over the chunks;
- httpx-sse: what `EventSource.iter_sse` does, i.e. httpx's incremental text decoder, httpx-sse's
  `SSELineDecoder`, `line.rstrip("\\n")` and `SSEDecoder.decode` per line;
- replicate: what `replicate.stream.EventSource.__iter__` does, i.e. httpx's text decoder and
  `LineDecoder` (`Response.iter_lines`) and `EventSource.Decoder.decode` per line;
- raw baseline: UTF-8 decode and split on LF only, no parsing (a floor, not a decoder).

Rounds are interleaved (every decoder once per round) so machine noise hits all of them alike;
the best and the median round are printed as events per second with ratios against httpx-sse.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Iterator

from _harness import Bench, fmt_ratio, ratios
from httpx._decoders import LineDecoder, TextDecoder
from httpx_sse._decoders import SSEDecoder as HttpxSseDecoder
from httpx_sse._decoders import SSELineDecoder
from httpx_sse._models import ServerSentEvent as HttpxSseEvent
from replicate.stream import EventSource as ReplicateEventSource
from replicate.stream import ServerSentEvent as ReplicateEvent

from inference_api.sse import SSEDecoder, iter_events

WORDS = [" the", " quick", " brown", " fox", " jumps", " over", " a", " lazy", " dog", ",", " café", " naïve", "."]


def token_events(count: int) -> list[bytes]:
    return [f"id: {i}\nevent: output\ndata: {WORDS[i % len(WORDS)]}\n\n".encode() for i in range(count)]


def one_event_per_chunk(events: list[bytes]) -> list[bytes]:
    return events


def events_per_chunk(events: list[bytes], per_chunk: int) -> list[bytes]:
    return [b"".join(events[i : i + per_chunk]) for i in range(0, len(events), per_chunk)]


def fixed_size_chunks(events: list[bytes], size: int) -> list[bytes]:
    # Network reads split anywhere: inside lines, inside CRLF-free fields, inside characters.
    stream = b"".join(events)
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def run_ours_feed(chunks: list[bytes]) -> int:
    decoder = SSEDecoder()
    count = 0
    for chunk in chunks:
        count += len(decoder.feed(chunk))
    return count


def run_ours_iter_events(chunks: list[bytes]) -> int:
    count = 0
    for _ in iter_events(chunks):
        count += 1
    return count


def httpx_sse_events(chunks: Iterable[bytes]) -> Iterator[HttpxSseEvent]:
    """httpx-sse's `EventSource.iter_sse` over `Response.iter_text`, without the response object."""

    def lines() -> Iterator[str]:  # httpx_sse._api._iter_sse_lines
        text_decoder = TextDecoder("utf-8")
        line_decoder = SSELineDecoder()
        for chunk in chunks:
            text = text_decoder.decode(chunk)
            if text:  # httpx's iter_text drops empty text
                yield from line_decoder.decode(text)
        text = text_decoder.flush()
        if text:
            yield from line_decoder.decode(text)
        yield from line_decoder.flush()

    decoder = HttpxSseDecoder()
    for line in lines():
        line = line.rstrip("\n")
        sse = decoder.decode(line)
        if sse is not None:
            yield sse


def replicate_events(chunks: Iterable[bytes]) -> Iterator[ReplicateEvent]:
    """replicate's `EventSource.__iter__` over `Response.iter_lines`, minus its output post-processing."""

    def lines() -> Iterator[str]:  # httpx.Response.iter_lines
        text_decoder = TextDecoder("utf-8")
        line_decoder = LineDecoder()
        for chunk in chunks:
            text = text_decoder.decode(chunk)
            if text:
                yield from line_decoder.decode(text)
        text = text_decoder.flush()
        if text:
            yield from line_decoder.decode(text)
        yield from line_decoder.flush()

    decoder = ReplicateEventSource.Decoder()
    for line in lines():
        line = line.rstrip("\n")
        sse = decoder.decode(line)
        if sse is not None:
            yield sse


def run_httpx_sse(chunks: list[bytes]) -> int:
    count = 0
    for _ in httpx_sse_events(chunks):
        count += 1
    return count


def run_replicate(chunks: list[bytes]) -> int:
    count = 0
    for _ in replicate_events(chunks):
        count += 1
    return count


def run_raw_baseline(chunks: list[bytes]) -> int:
    count = 0
    for chunk in chunks:
        count += len(chunk.decode("utf-8", "replace").split("\n"))
    return count // 4  # four lines per event, so the figure reads as events per second


DECODERS: dict[str, Callable[[list[bytes]], int]] = {
    "ours (SSEDecoder.feed)": run_ours_feed,
    "ours (iter_events)": run_ours_iter_events,
    "httpx-sse": run_httpx_sse,
    "replicate": run_replicate,
    "raw baseline": run_raw_baseline,
}
REFERENCE = "httpx-sse"


def measure(chunks: list[bytes], expected: int, rounds: int) -> dict[str, list[float]]:
    seconds: dict[str, list[float]] = {name: [] for name in DECODERS}
    for _ in range(rounds):
        for name, run in DECODERS.items():
            start = time.perf_counter()
            count = run(chunks)
            seconds[name].append(time.perf_counter() - start)
            if name != "raw baseline" and count != expected:
                raise SystemExit(f"{name} decoded {count} events, expected {expected}")
    return seconds


def main() -> None:
    bench = Bench(__doc__)
    bench.parser.add_argument("--events", type=int, default=50_000)
    bench.parser.add_argument("--rounds", type=int, default=7)
    args = bench.parse()
    count, rounds = (5_000, 2) if bench.quick else (args.events, args.rounds)

    events = token_events(count)
    workloads = {
        "one event per chunk": one_event_per_chunk(events),
        "8 events per chunk": events_per_chunk(events, 8),
        "4 KiB chunks split anywhere": fixed_size_chunks(events, 4096),
        # sse-starlette and other servers end lines with CRLF.
        "CRLF line ends, 8 events per chunk": events_per_chunk([e.replace(b"\n", b"\r\n") for e in events], 8),
    }
    bench.note(f"{count} events like {events[1]!r}, best and median of {rounds} interleaved rounds")
    speedups: list[float] = []
    for workload, chunks in workloads.items():
        seconds = measure(chunks, count, rounds)
        rows = []
        for name, times in seconds.items():
            best, middle = min(times), statistics.median(times)
            # Throughput: the reference's time over ours, round by round.
            per_round = ratios(seconds[REFERENCE], times)
            rows.append([name, f"{count / best:,.0f}", f"{count / middle:,.0f}", fmt_ratio(per_round)])
            if name == "ours (SSEDecoder.feed)":
                speedups.extend(per_round)
        bench.table(
            f"{workload} ({len(chunks)} chunks)",
            ["decoder", "events/s best", "median", "events/s vs httpx-sse (per round)"],
            rows,
        )
    bench.aim(
        "SSE decoding, small token events, events/s",
        ours=f"{statistics.median(speedups):.2f}x httpx-sse's events/s",
        peer="the same chunks, four workloads",
        peer_name="httpx-sse",
        per_round=speedups,
        goal=None,
    )
    bench.finish()


if __name__ == "__main__":
    main()
