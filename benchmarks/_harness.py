"""What the benchmarks share: interleaved rounds, medians and spreads, and results `scripts/bench` can read.

    from _harness import Bench, interleave

    bench = Bench(__doc__)                      # parses --quick; BENCH_QUICK=1 does the same
    samples = interleave({"ours": run_ours, "peer": run_peer}, rounds=7)   # seconds per round
    bench.table("title", ["contender", "median", "spread"], rows)
    bench.aim("what", ours="1.2 ms", peer="1.0 ms", ratio=1.2, goal=1.5, peer_name="raw httpx")
    bench.finish()

A benchmark prints its tables as it goes; when `BENCH_RESULTS` names a file (scripts/bench sets
it), `finish()` also writes them there as JSON, with the aims, for BENCHMARKS.md. A benchmark
that does not use this module still runs under scripts/bench: its output is quoted as it is.

Never a test: the machine is shared and noisy. Rounds are interleaved (every contender once per
round, in a rotating order) so that noise falls on all of them alike, and figures are medians
with their spread (lowest-highest round).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "Bench",
    "ServerProcess",
    "fmt_ratio",
    "interleave",
    "median",
    "ratios",
    "reset_peak",
    "server_process",
    "spread",
    "started_server",
    "status_bytes",
]

T = TypeVar("T")


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def spread(samples: Sequence[float], scale: float = 1.0, digits: int = 0) -> str:
    """`lowest-highest` of the samples, times `scale`."""
    return f"{min(samples) * scale:.{digits}f}-{max(samples) * scale:.{digits}f}"


def ratios(ours: Sequence[float], peer: Sequence[float]) -> list[float]:
    """Round by round: interleaved rounds share their noise, so their ratios are steadier than medians'."""
    return [a / b for a, b in zip(ours, peer, strict=True) if b > 0]


def fmt_ratio(values: Sequence[float]) -> str:
    """`1.23x (1.10-1.40)`: the median ratio and its spread over rounds."""
    if len(values) == 1:
        return f"{values[0]:.2f}x"
    return f"{median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


def interleave(contenders: Mapping[str, Callable[[], T]], rounds: int) -> dict[str, list[T]]:
    """Run every contender once per round, the order rotating each round; their results by name."""
    names = list(contenders)
    samples: dict[str, list[T]] = {name: [] for name in names}
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(contenders[name]())
    return samples


class ServerProcess:
    """A server running in a process of its own: its base URL, and the CPU time it has used."""

    def __init__(self, base_url: str, pid: int) -> None:
        self.base_url = base_url
        self.pid = pid

    def cpu_seconds(self) -> float:
        """User and system CPU seconds the server has used so far (10 ms ticks); NaN where /proc
        cannot tell."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        except (OSError, ValueError, IndexError):
            return float("nan")


@contextmanager
def started_server(command: list[str], stdin: bytes | None = None) -> Iterator[ServerProcess]:
    """Start a server in its own process (its work then shares no GIL with the client's); its first
    line of output is its base URL. Stopped on leaving."""
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # noqa: S603 (ours)
    try:
        assert child.stdin is not None and child.stdout is not None
        if stdin is not None:
            child.stdin.write(stdin)
        child.stdin.close()
        base_url = child.stdout.readline().decode().strip()
        if not base_url.startswith("http://"):
            raise RuntimeError(f"the server did not start: {base_url!r}")
        yield ServerProcess(base_url, child.pid)
    finally:
        child.terminate()
        child.wait(10)


@contextmanager
def server_process(command: list[str], stdin: bytes | None = None) -> Iterator[str]:
    """`started_server`, yielding only the base URL."""
    with started_server(command, stdin) as server:
        yield server.base_url


def status_bytes(field: str) -> int:
    """A size from /proc/self/status (VmRSS: resident now; VmHWM: the peak), in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise LookupError(field)


def reset_peak() -> None:
    """Make VmHWM the resident set as it is now (Linux 4.0+), so that only what follows counts."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:  # an older kernel: what came before may count too
        pass


class Bench:
    """One benchmark script's options and results."""

    def __init__(self, doc: str | None, parser: argparse.ArgumentParser | None = None) -> None:
        self.parser = parser or argparse.ArgumentParser(
            description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        self.parser.add_argument(
            "--quick", action="store_true", help="a smoke run: fewer rounds and sizes (also BENCH_QUICK=1)"
        )
        self.name = Path(sys.argv[0]).stem
        self.tables: list[dict[str, Any]] = []
        self.aims: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.args: argparse.Namespace = argparse.Namespace()

    def parse(self) -> argparse.Namespace:
        self.args = self.parser.parse_args()
        if os.environ.get("BENCH_QUICK") == "1":
            self.args.quick = True
        return self.args

    @property
    def quick(self) -> bool:
        return bool(getattr(self.args, "quick", False))

    def note(self, text: str) -> None:
        """A line printed now and kept under the benchmark's tables."""
        print(text, flush=True)
        self.notes.append(text)

    def table(self, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]], note: str = "") -> None:
        """Print a table (first column left-aligned) and keep it for BENCHMARKS.md."""
        cells = [[str(cell) for cell in row] for row in rows]
        widths = [max(len(str(h)), *(len(row[i]) for row in cells)) for i, h in enumerate(header)]

        def line(values: Sequence[str]) -> str:
            pairs = enumerate(zip(values, widths, strict=True))
            return "  " + "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in pairs)

        print(f"\n{title}")
        for row in [list(header), *cells]:
            print(line(row))
        if note:
            print(f"  {note}")
        sys.stdout.flush()
        self.tables.append({"title": title, "header": list(header), "rows": cells, "note": note})

    def aim(
        self,
        what: str,
        *,
        ours: str,
        peer: str,
        peer_name: str,
        goal: float | None,
        ratio: float | None = None,
        per_round: Sequence[float] | None = None,
        spread: str = "",
        lower_is_better: bool = True,
        shown: str | None = None,
    ) -> None:
        """A figure for the summary: ours against a named peer, the ratio, and the goal it is held to
        (None: a figure to quote, held to no goal). `per_round`: the ratio of each round, whose median
        is the ratio and whose range the spread. `shown` replaces the ratio's text (a score)."""
        if per_round is not None:
            ratio = median(per_round)
            spread = f"{min(per_round):.2f}-{max(per_round):.2f}"
        met = None
        if goal is not None and ratio is not None:
            met = ratio <= goal if lower_is_better else ratio >= goal
        text = shown if shown is not None else f"{ratio:.2f}x" if ratio is not None else ""
        entry = {
            "what": what,
            "ours": ours,
            "peer": f"{peer_name}: {peer}",
            "ratio": text + (f" ({spread})" if spread else ""),
            "goal": "" if goal is None else f"≤ {goal:g}x" if lower_is_better else f"≥ {goal:g}x",
            "met": met,
        }
        self.aims.append(entry)
        verdict = "" if met is None else f" (goal {entry['goal']}): {'met' if met else 'NOT met'}"
        print(f"  {'aim' if goal is not None else 'figure'}: {what}: {entry['ratio']}{verdict}", flush=True)

    def aim_ratios(
        self,
        what: str,
        ours: Sequence[float],
        peer: Sequence[float],
        *,
        peer_name: str,
        goal: float | None,
        unit: str,
        scale: float = 1.0,
    ) -> None:
        """`aim` from the samples of interleaved rounds: their medians (times `scale`, in `unit`), and
        the ratio round by round, with its spread."""
        self.aim(
            what,
            ours=f"{median(ours) * scale:.0f} {unit}",
            peer=f"{median(peer) * scale:.0f} {unit}",
            peer_name=peer_name,
            per_round=ratios(ours, peer),
            goal=goal,
        )

    def finish(self) -> None:
        target = os.environ.get("BENCH_RESULTS")
        if not target:
            return
        result = {
            "script": self.name,
            "quick": self.quick,
            "tables": self.tables,
            "aims": self.aims,
            "notes": self.notes,
        }
        Path(target).write_text(json.dumps(result, ensure_ascii=False, indent=1))
