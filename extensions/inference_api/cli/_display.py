"""Live feedback on stderr for the command line: a status line and a progress bar (rich, the `cli` extra)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from inference_api_client.models import Prediction

__all__ = ["Display", "ProgressCallback", "UpdateCallback", "last_log_line"]

UpdateCallback = Callable[["Prediction"], object]
ProgressCallback = Callable[[int, "int | None"], object]


def last_log_line(prediction: Prediction) -> str:
    from .._fields import logs_of

    logs = logs_of(prediction) or ""
    lines = [line.strip() for line in logs.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _ignore(*_: object) -> None:
    pass


class Display:
    """A live status line or progress bar on stderr when it is a terminal; nothing otherwise.

    Nothing goes to stdout, so a script that reads the result is never disturbed. Uses rich (the
    `cli` extra); without it, or with `--quiet`, the commands print only their result.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.console: Console | None = None
        if not enabled:
            return
        try:
            from rich.console import Console
        except ImportError:
            return
        console = Console(stderr=True)
        if console.is_terminal and not console.is_dumb_terminal:
            self.console = console

    @contextmanager
    def status(self, action: str, status: str = "waiting") -> Iterator[UpdateCallback]:
        """A spinner, the prediction's status, the elapsed time and its last log line (or `action`)."""
        if self.console is None:
            yield _ignore
            return
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.table import Column

        # On a narrow terminal rich shrinks every column alike ("ru…" for "running"): the status and
        # the time keep their width, and the description (model name, log line) gets what is left.
        fixed = 2 + len("processing") + 1 + len("0:00:00") + 1
        with Progress(
            SpinnerColumn(),
            TextColumn(
                "{task.fields[status]}",
                markup=False,
                style="bold",
                table_column=Column(no_wrap=True, min_width=len("processing")),
            ),
            TimeElapsedColumn(table_column=Column(no_wrap=True, min_width=len("0:00:00"))),
            TextColumn(
                "{task.description}",
                markup=False,
                table_column=Column(
                    no_wrap=True, overflow="ellipsis", max_width=max(8, self.console.width - fixed - 1)
                ),
            ),
            console=self.console,
            transient=True,
            redirect_stdout=False,  # the result goes to stdout, never into the live display
        ) as progress:
            task = progress.add_task(action, total=None, status=status)

            def on_update(prediction: Prediction) -> None:
                # Drawn at once, not at the next tick: a short status is seen too.
                description = last_log_line(prediction) or prediction.id
                progress.update(task, status=str(prediction.status), description=description, refresh=True)

            yield on_update

    @contextmanager
    def transfer(self, name: str) -> Iterator[ProgressCallback]:
        """A progress bar with the size done and in all, the speed and the time left."""
        if self.console is None:
            yield _ignore
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        with Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
            redirect_stdout=False,
        ) as progress:
            task = progress.add_task(name, total=None)

            def on_chunk(done: int, total: int | None) -> None:
                progress.update(task, completed=done, total=total)

            yield on_chunk
