"""How long `inference-api --help` takes to start, beside `python -c "import httpx"` and a bare Python.

    .venv/bin/python benchmarks/bench_cli_startup.py [--runs N]

Each round runs the commands once each, in a new order every round (interleaved, so that
the noise of a shared machine falls on all of them alike), as separate processes of this
virtual environment. Prints the median wall-clock time of each and the ratio of the CLI's to
httpx's import; the goal is at most 1.3x (the CLI imports httpx, the SDK and rich only when a
command needs them).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    'python -c "import httpx"': [sys.executable, "-c", "import httpx"],
    # httpx imports its own command line (click, rich, pygments) when they are installed, as they
    # are here (schemathesis brings them): without them, as in most environments, it is faster.
    "import httpx, without click": [sys.executable, "-c", "import sys; sys.modules['click'] = None; import httpx"],
    "inference-api --help": [str(BIN / "inference-api"), "--help"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    names = list(COMMANDS)
    for _ in range(args.runs):
        random.shuffle(names)
        for name in names:
            started = time.perf_counter()
            subprocess.run(COMMANDS[name], stdout=subprocess.DEVNULL, check=True)  # noqa: S603 (our own commands)
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name:<28} {median * 1000:7.1f} ms (median of {args.runs})")
    cli = medians["inference-api --help"]
    for baseline in ('python -c "import httpx"', "import httpx, without click"):
        print(f"inference-api --help / {baseline}: {cli / medians[baseline]:.2f}x (goal: at most 1.3x)")


if __name__ == "__main__":
    main()
