"""Start-up: importing the SDK and starting `inference-api --help`, beside `import httpx` and a bare Python.

    .venv/bin/python benchmarks/bench_startup.py [--runs N] [--quick]

Each round runs every command once, as a separate process of this virtual environment, in a new
order every round (interleaved, so that the noise of a shared machine falls on all of them alike).
Printed: the median wall-clock time of each, its spread, and ratios against `import httpx`.

httpx imports its own command line (click, rich, pygments) when they are installed, as they are
here (schemathesis brings them): without them, as in most environments, `import httpx` is faster.
So every figure is also given with click made unimportable, against `import httpx` likewise.
Aims: `import inference_api` at most 1.15x `import httpx`, `inference-api --help` at most 1.3x. What
users write, `from inference_api import connect, get, run, stream, wait`, imports httpx, the generated
client and the SDK's calls: it is shown beside them, held to no aim.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

from _harness import Bench, fmt_ratio, median, ratios, spread

BIN = Path(sys.executable).parent
NO_CLICK = "import sys; sys.modules['click'] = None; "
USER_IMPORT = "from inference_api import connect, get, run, stream, wait"
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import httpx": [sys.executable, "-c", "import httpx"],
    "import inference_api": [sys.executable, "-c", "import inference_api"],
    USER_IMPORT: [sys.executable, "-c", USER_IMPORT],
    "inference-api --help": [str(BIN / "inference-api"), "--help"],
    "import httpx (no click)": [sys.executable, "-c", NO_CLICK + "import httpx"],
    f"{USER_IMPORT} (no click)": [sys.executable, "-c", NO_CLICK + USER_IMPORT],
}
AIMS = {"import inference_api": 1.15, "inference-api --help": 1.3}


def main() -> None:
    bench = Bench(__doc__)
    bench.parser.add_argument("--runs", type=int, default=30)
    args = bench.parse()
    runs = 4 if bench.quick else args.runs
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    names = list(COMMANDS)
    for _ in range(runs):
        random.shuffle(names)
        for name in names:
            started = time.perf_counter()
            subprocess.run(COMMANDS[name], stdout=subprocess.DEVNULL, check=True)  # noqa: S603 (our own commands)
            times[name].append(time.perf_counter() - started)
    rows = []
    for name, samples in times.items():
        baseline = "import httpx (no click)" if name.endswith("(no click)") else "import httpx"
        rows.append(
            [
                name,
                f"{median(samples) * 1e3:.0f}",
                spread(samples, 1e3),
                fmt_ratio(ratios(samples, times[baseline])),
                baseline,
            ]
        )
    bench.table(
        f"start-up, {runs} interleaved runs (a new process each)",
        ["command", "ms (median)", "spread", "ratio (per run)", "vs"],
        rows,
    )
    for name, goal in AIMS.items():
        bench.aim_ratios(
            name, times[name], times["import httpx"], peer_name="import httpx", goal=goal, unit="ms", scale=1e3
        )
    bench.finish()


if __name__ == "__main__":
    main()
