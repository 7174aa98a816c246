"""Score SSE decoders on the WHATWG conformance cases of tests/sse/conformance_cases.py.

    .venv/bin/python benchmarks/sse_conformance.py [-v] [--quick]

Each decoder reads each case's chunks exactly as it would read a response body (see bench_sse.py
for how the peers are driven) and passes when it dispatches exactly the expected events, as
(event type, data, last event ID, retry). An exception counts as a failure. -v lists the failures.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.sse.conformance_cases

from _harness import Bench
from bench_sse import httpx_sse_events, replicate_events

from inference_api.sse import iter_events
from tests.sse.conformance_cases import CASES, Event

Decoder = Callable[[Iterable[bytes]], list[Event]]

DECODERS: dict[str, Decoder] = {
    "ours": lambda chunks: [(e.event, e.data, e.id, e.retry) for e in iter_events(chunks)],
    "httpx-sse": lambda chunks: [(e.event, e.data, e.id, e.retry) for e in httpx_sse_events(chunks)],
    "replicate": lambda chunks: [(e.event.value, e.data, e.id, e.retry) for e in replicate_events(chunks)],
}


def main() -> None:
    bench = Bench(__doc__)  # --quick changes nothing: the cases take milliseconds
    bench.parser.add_argument("-v", "--verbose", action="store_true", help="show each failure")
    args = bench.parse()

    passed = dict.fromkeys(DECODERS, 0)
    for case in CASES:
        for name, decode in DECODERS.items():
            try:
                outcome: list[Event] | str = decode(case.chunks)
            except Exception as error:
                outcome = f"{type(error).__name__}: {error}"
            if outcome == list(case.expected):
                passed[name] += 1
            elif args.verbose:
                print(f"{name:<10} fails {case.name} ({case.rule})\n{'':<11}expected {case.expected}, got {outcome}")
    bench.table(
        f"WHATWG event stream cases passed ({len(CASES)} cases)",
        ["decoder", "passed"],
        [[name, f"{count}/{len(CASES)}"] for name, count in passed.items()],
    )
    bench.aim(
        "SSE conformance, WHATWG cases passed",
        ours=f"{passed['ours']}/{len(CASES)}",
        peer=f"{passed['httpx-sse']}/{len(CASES)}; replicate {passed['replicate']}/{len(CASES)}",
        peer_name="httpx-sse",
        ratio=None,
        goal=None,
        shown=f"{passed['ours']}/{len(CASES)}",
    )
    bench.finish()


if __name__ == "__main__":
    main()
