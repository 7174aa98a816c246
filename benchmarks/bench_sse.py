"""Throughput of SSE decoders on small token events, side by side in one run.

    .venv/bin/python benchmarks/bench_sse.py [--events N] [--rounds R] [--quick]

Every decoder gets the same byte chunks, does all the work from bytes to event objects, and is
read the way a user reads events: iterate them one by one and read `.data` of each (the total
length of the data is checked against the expected one, so all decoders agree on the text):
- ours: `inference_api.sse.SSEDecoder.feed` per chunk (what the SDK's streams do), and
  `iter_events` over the chunks (the public generator);
- the generated client: `inference_api_client.sse.iter_events`, the decoder under its
  `sync_stream`/`asyncio_stream` (rendered from templates/package/sse.py.jinja; the model each
  event is then parsed into is not timed, as no peer here parses JSON);
- httpx-sse: what `EventSource.iter_sse` does, i.e. httpx's incremental text decoder, httpx-sse's
  `SSELineDecoder`, `line.rstrip("\\n")` and `SSEDecoder.decode` per line;
- replicate: what `replicate.stream.EventSource.__iter__` does, i.e. httpx's text decoder and
  `LineDecoder` (`Response.iter_lines`) and `EventSource.Decoder.decode` per line;
- raw baseline: UTF-8 decode and split on LF only, no parsing (a floor, not a decoder).

Rounds are interleaved (every decoder once per round, the order rotating) so that machine noise
hits all of them alike, and timed in this process's CPU time: the machine may be shared, and time
spent waiting for a core is no decoder's. Figures are the median round in events per second, the
spread over rounds, and the ratio to httpx-sse round by round. Aim: ours and the generated
client's at least 2x httpx-sse's events per second with one event per chunk (token streams) and
with 4 KiB chunks.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple, Protocol

from _harness import Bench, fmt_ratio, interleave, ratios
from httpx._decoders import LineDecoder, TextDecoder
from httpx_sse._decoders import SSEDecoder as HttpxSseDecoder
from httpx_sse._decoders import SSELineDecoder
from httpx_sse._models import ServerSentEvent as HttpxSseEvent
from replicate.stream import EventSource as ReplicateEventSource
from replicate.stream import ServerSentEvent as ReplicateEvent

from inference_api.sse import SSEDecoder, iter_events
from inference_api_client.sse import iter_events as generated_iter_events

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


class Consumed(NamedTuple):
    """What a contender read: the events, and the characters of their data (the same for all)."""

    events: int
    data_chars: int


class HasData(Protocol):
    @property
    def data(self) -> str: ...


# Every contender is consumed the way a user reads events: iterate them one by one and read
# `.data` of each (summing its length also checks that all decoders agree on the text).
def consumed(events: Iterable[HasData]) -> Consumed:
    count = chars = 0
    for event in events:
        count += 1
        chars += len(event.data)
    return Consumed(count, chars)


def run_ours_feed(chunks: list[bytes]) -> Consumed:
    decoder = SSEDecoder()
    count = chars = 0
    for chunk in chunks:
        for event in decoder.feed(chunk):
            count += 1
            chars += len(event.data)
    return Consumed(count, chars)


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


def run_raw_baseline(chunks: list[bytes]) -> Consumed:
    lines = chars = 0
    for chunk in chunks:
        for line in chunk.decode("utf-8", "replace").split("\n"):
            lines += 1
            chars += len(line)
    return Consumed(lines // 4, chars)  # four lines per event, so the figure reads as events per second


BASELINE = "raw baseline"
FEED = "ours (SSEDecoder.feed)"
ITER_EVENTS = "ours (iter_events)"
GENERATED = "generated client (iter_events)"
DECODERS: dict[str, Callable[[list[bytes]], Consumed]] = {
    FEED: run_ours_feed,  # its own loop: the decoder is fed chunk by chunk, as a transport would
    ITER_EVENTS: lambda chunks: consumed(iter_events(chunks)),
    GENERATED: lambda chunks: consumed(generated_iter_events(chunks)),
    "httpx-sse": lambda chunks: consumed(httpx_sse_events(chunks)),
    "replicate": lambda chunks: consumed(replicate_events(chunks)),
    BASELINE: run_raw_baseline,
}
REFERENCE = "httpx-sse"


def measure(chunks: list[bytes], expected: Consumed, rounds: int) -> dict[str, list[float]]:
    """Seconds per round of each decoder, interleaved (the order rotating each round)."""

    def timed(name: str, run: Callable[[list[bytes]], Consumed]) -> Callable[[], float]:
        def once() -> float:
            start = time.process_time()
            consumed = run(chunks)
            seconds = time.process_time() - start
            if name != BASELINE and consumed != expected:
                raise SystemExit(f"{name} read {consumed}, expected {expected}")
            return seconds

        return once

    return interleave({name: timed(name, run) for name, run in DECODERS.items()}, rounds)


AIMED = ("one event per chunk", "4 KiB chunks split anywhere")
GOAL = 2.0  # ours and the generated client's at least twice httpx-sse's events per second


def main() -> None:
    bench = Bench(__doc__)
    bench.parser.add_argument("--events", type=int, default=20_000)
    bench.parser.add_argument("--rounds", type=int, default=40)
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
    bench.note(
        f"{count} events like {events[1]!r}, each read as a user does (iterate, read `.data`); "
        f"{rounds} interleaved rounds; CPU time of this process, so that time spent waiting for a core "
        "on a shared machine is nobody's"
    )
    expected = Consumed(count, sum(len(WORDS[i % len(WORDS)]) for i in range(count)))
    for workload, chunks in workloads.items():
        seconds = measure(chunks, expected, rounds)
        rows = []
        for name, times in seconds.items():
            # Throughput: the reference's time over ours, round by round.
            per_round = ratios(seconds[REFERENCE], times)
            rows.append(
                [
                    name,
                    f"{count / statistics.median(times):,.0f}",
                    f"{count / max(times):,.0f}-{count / min(times):,.0f}",
                    fmt_ratio(per_round),
                ]
            )
        bench.table(
            f"{workload} ({len(chunks)} chunks)",
            ["decoder", "events/s (median)", "spread", "events/s vs httpx-sse (per round)"],
            rows,
        )
        if workload in AIMED:
            reference = f"{count / statistics.median(seconds[REFERENCE]):,.0f} events/s"
            for name in (FEED, ITER_EVENTS, GENERATED):
                bench.aim(
                    f"SSE decoding, {workload}, {name}, events/s",
                    ours=f"{count / statistics.median(seconds[name]):,.0f} events/s",
                    peer=reference,
                    peer_name="httpx-sse",
                    per_round=ratios(seconds[REFERENCE], seconds[name]),
                    goal=GOAL,
                    lower_is_better=False,
                )
    bench.finish()


if __name__ == "__main__":
    main()
