"""`inference-api batch MODEL INPUTS.jsonl --output RESULTS.jsonl [--concurrency N]`.

Kept apart from `cli` so that the command line starts without importing the batch engine (or
rich): `add_parser` needs only argparse; `run` imports the rest.

Each input line is one model input (a JSON object). Each results line is a JSON object with
`index` (the input's 0-based line number), `id`, `status`, `output`, `error`, `retryable`,
`model` and `input_hash` (a fingerprint of the input line); when the batch completes, the file
holds one line per input, in input order.

Running the same command again resumes: succeeded inputs are not redone, running predictions
are waited for by id (never created twice), and inputs whose error can pass next time (a wrong
token, a rate limit, a lost connection, a server error, a timeout) are done again, as is an
input line fixed since. Inputs that failed for good (the model failed, the prediction was
canceled, the input was refused) are kept; --retry-failed does them again too. The same
--output with another model, or with other inputs where predictions were made, is refused
before anything is sent: the results file is left as it is.

A 401 or 403 stops the batch at the first refusal, and so does a model that does not exist or
is malformed (the first create is sent alone). A results file that cannot be written (a full
disk) stops new creates at once; predictions whose id could not be recorded are canceled.

Ctrl-C (or SIGTERM) stops new creates, waits for the creates already sent and records their ids,
then exits 130 (143 for SIGTERM); a second Ctrl-C quits at once. Exit 0 when every input
succeeded, 1 when some failed (their lines say why) or the batch was stopped by an API error,
2 when the results file belongs to another model or other inputs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Self

from ._arguments import positive, seconds

if TYPE_CHECKING:
    from rich.console import Console

    from ..batching import AsyncBatch, BatchStats
    from ..connection import InferenceClient
    from ._display import Display

EXIT_SOME_FAILED = 1
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
_REFRESH_SECONDS = 0.25


def add_parser(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register the `batch` command with the CLI's `add(name, command, help)`."""
    parser = add("batch", run, "run a model over every line of a JSON Lines file; run again to resume")
    parser.description = __doc__.split("\n\n", 2)[2]
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("model", help="owner/name:version (or the version)")
    parser.add_argument("inputs", type=Path, help="a JSON Lines file: one input object per line")
    parser.add_argument("--output", "-o", type=Path, required=True, help="the results file (JSON Lines), resumed")
    parser.add_argument("--concurrency", "-c", type=positive, default=32, help="predictions at once (default 32)")
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=600.0,
        metavar="SECONDS",
        help="seconds to wait for each prediction (default 600)",
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="also do again the inputs that failed for good (failed or canceled predictions, refused inputs)",
    )


class _Progress:
    """A rich progress bar on stderr: done, failed, in flight, rate and time left."""

    def __init__(self, console: Console, total: int, already_done: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("[bold]batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed[/] · {task.fields[in_flight]} in flight"),
            TextColumn("· {task.fields[rate]}/s"),
            TimeRemainingColumn(),
            console=console,
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
    import asyncio

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


def run(args: argparse.Namespace, client: InferenceClient, display: Display) -> int:
    """Run (or resume) the batch; the exit code."""
    import asyncio
    import contextlib
    import signal

    from ..batching import async_batch, count_lines
    from ..errors import APIError

    inputs: Path = args.inputs
    if not inputs.is_file():
        raise OSError(f"no such input file: {inputs}")
    engine = async_batch(
        client,
        args.model,
        inputs,
        concurrency=args.concurrency,
        output=args.output,
        timeout=args.timeout,
        retry_failed=args.retry_failed,
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
            if display.console is not None:  # a terminal, rich installed, no --quiet
                total = await asyncio.to_thread(count_lines, inputs)  # the batch starts meanwhile
                progress = _Progress(display.console, total, engine.stats.previously_done)
            if progress is None:
                await _consume(engine, None)
            else:
                with progress:
                    await _consume(engine, progress)

    try:
        asyncio.run(main())
    except (APIError, OSError) as error:  # the batch stopped at a refusal or a results file it cannot write
        if engine.stats.done or engine.stats.created:
            print(f"inference-api: stopped: {summary(engine.stats)}; results in {args.output}", file=sys.stderr)
        if isinstance(error, APIError):
            print(f"inference-api: {type(error).__name__}: {error}", file=sys.stderr)
            return EXIT_SOME_FAILED
        raise
    stats = engine.stats
    failed = stats.failed + stats.previously_failed
    if engine.stopped:
        print(
            f"inference-api: interrupted: {summary(stats)}; every prediction created is recorded in {args.output}: "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return EXIT_TERMINATED if received and received[0] == signal.SIGTERM else EXIT_INTERRUPTED
    print(f"inference-api: {summary(stats)}; results in {args.output}", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else 0


def summary(stats: BatchStats) -> str:
    """The results file's inputs by outcome, then what this run did, e.g.
    `200 inputs: 0 succeeded, 200 failed (200 retryable: run again); 200 done in this run, 0 kept`."""
    total = stats.previously_done + stats.done
    succeeded = stats.previously_succeeded + stats.succeeded
    failed = total - succeeded
    why = []
    if stats.retryable:
        why.append(f"{stats.retryable} retryable: run again")
    if failed > stats.retryable:
        why.append(f"{failed - stats.retryable} for good: --retry-failed does them again")
    reasons = f" ({'; '.join(why)})" if why else ""
    return (
        f"{total} inputs: {succeeded} succeeded, {failed} failed{reasons}; "
        f"{stats.done} done in this run, {stats.previously_done} kept from before"
    )
