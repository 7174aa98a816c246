"""`inference-api batch MODEL INPUTS.jsonl --output RESULTS.jsonl [--concurrency N]`.

Kept apart from `cli` so that the command line starts without importing the batch engine (or
rich): `add_parser` needs only argparse; `run` imports the rest.

Each input line is one model input (a JSON object). Each results line is a JSON object with
`index` (the input's 0-based line number), `id`, `status`, `output` and `error`; when the batch
completes, the file holds one line per input, in input order. Running the same command again
resumes: finished inputs are not redone, running predictions are waited for by id.

Ctrl-C (or SIGTERM) stops new creates, waits for the creates already sent and records their ids,
then exits 130 (143 for SIGTERM); a second Ctrl-C quits at once. Exit 0 when every input
succeeded, 1 when some failed (their lines say why).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from generated_client import AuthenticatedClient

    from .batching import AsyncBatch, BatchStats

EXIT_SOME_FAILED = 1
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
_REFRESH_SECONDS = 0.25


def add_parser(commands: Any) -> None:
    """Register the `batch` subcommand on the CLI's subparsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "batch",
        help="run a model over every line of a JSON Lines file; run again to resume",
        description=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="owner/name:version (or the version)")
    parser.add_argument("inputs", type=Path, help="a JSON Lines file: one input object per line")
    parser.add_argument("--output", "-o", type=Path, required=True, help="the results file (JSON Lines), resumed")
    parser.add_argument("--concurrency", "-c", type=_positive, default=32, help="predictions at once (default 32)")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait for each prediction (default 600)"
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


class _Progress:
    """A rich progress bar on stderr: done, failed, in flight, rate and time left."""

    def __init__(self, total: int, already_done: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("[bold]batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed[/] · {task.fields[in_flight]} in flight"),
            TextColumn("· {task.fields[rate]}/s"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            redirect_stdout=False,
            redirect_stderr=False,
            refresh_per_second=4,
        )
        self._already_done = already_done
        self._task = self._bar.add_task("batch", total=total, completed=already_done, failed=0, in_flight=0, rate="0.0")

    def __enter__(self) -> Self:
        self._bar.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._bar.stop()

    def say(self, message: str) -> None:
        """A line above the bar."""
        self._bar.console.print(message, markup=False, highlight=False)

    def update(self, stats: BatchStats) -> None:
        elapsed = max(time.monotonic() - stats.started_at, 1e-6)
        self._bar.update(
            self._task,
            completed=self._already_done + stats.done,
            failed=stats.failed + stats.previously_failed,
            in_flight=stats.in_progress,
            rate=f"{stats.done / elapsed:.1f}",
        )


async def _consume(engine: AsyncBatch, progress: _Progress | None) -> None:
    async def tick() -> None:
        while progress is not None:
            progress.update(engine.stats)
            await asyncio.sleep(_REFRESH_SECONDS)

    ticker = asyncio.create_task(tick())
    try:
        async for _ in engine:
            pass
    finally:
        ticker.cancel()
        if progress is not None:
            progress.update(engine.stats)


def run(args: argparse.Namespace, client: AuthenticatedClient) -> int:
    """Run (or resume) the batch; the exit code."""
    from .batching import async_batch, count_lines

    inputs: Path = args.inputs
    if not inputs.is_file():
        raise OSError(f"no such input file: {inputs}")
    engine = async_batch(
        client, args.model, inputs, concurrency=args.concurrency, output=args.output, timeout=args.timeout
    )
    received: list[int] = []
    progress: _Progress | None = None

    async def main() -> None:
        nonlocal progress
        loop = asyncio.get_running_loop()

        def on_signal(number: int) -> None:
            received.append(number)
            if len(received) == 1:
                message = (
                    "inference-api: stopping: no new predictions; recording those being created "
                    "(Ctrl-C again to quit at once)"
                )
                if progress is not None:
                    progress.say(message)
                else:
                    print(f"\n{message}", file=sys.stderr)
                engine.stop()
                # A second Ctrl-C raises KeyboardInterrupt as usual.
                loop.remove_signal_handler(signal.SIGINT)

        for number in (signal.SIGINT, signal.SIGTERM):
            # Not on every platform: there, Ctrl-C stops at once.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(number, on_signal, number)
        async with engine:
            if sys.stderr.isatty():
                total = await asyncio.to_thread(count_lines, inputs)  # the batch starts meanwhile
                progress = _progress_or_none(total, engine.stats.previously_done)
            if progress is None:
                await _consume(engine, None)
            else:
                with progress:
                    await _consume(engine, progress)

    asyncio.run(main())
    stats = engine.stats
    failed = stats.failed + stats.previously_failed
    summary = f"{stats.done} done in this run ({stats.failed} failed), {stats.previously_done} done before"
    if engine.stopped:
        print(
            f"inference-api: interrupted: {summary}; every prediction created is recorded in {args.output}: "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return EXIT_TERMINATED if received and received[0] == signal.SIGTERM else EXIT_INTERRUPTED
    print(f"inference-api: {summary}; results in {args.output}", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else 0


def _progress_or_none(total: int, already_done: int) -> _Progress | None:
    try:
        return _Progress(total, already_done)
    except ImportError:  # rich is in the `cli` extra
        return None
