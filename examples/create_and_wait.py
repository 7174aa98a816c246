"""Create the guide's image-to-video prediction, then wait for it, printing its progress.

    python examples/create_and_wait.py

Prints each change of status with the time so far and the last log line, then the output (a
video URL). Ctrl-C cancels the prediction before stopping.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from guide import IMAGE_TO_VIDEO, VIDEO_INPUT

from inference_api import Prediction, PredictionError, connect, create, wait


def progress(started: float) -> Callable[[Prediction], None]:
    """An `on_update` callback: seconds since `started`, status, last log line."""

    def show(prediction: Prediction) -> None:
        logs = prediction.logs if isinstance(prediction.logs, str) else ""
        last_line = logs.strip().splitlines()[-1] if logs.strip() else ""
        print(f"{time.monotonic() - started:6.1f} s  {prediction.status!s:<10} {last_line}", flush=True)

    return show


def main() -> None:
    with connect() as client:
        prediction = create(client, IMAGE_TO_VIDEO, VIDEO_INPUT)
        print(f"created {prediction.id}")
        try:
            prediction = wait(
                client, prediction, timeout=600, on_update=progress(time.monotonic()), cancel_on_interrupt=True
            )
        except PredictionError as error:  # failed or canceled: error.prediction says more
            sys.exit(f"{prediction.id}: {error}")
        print(f"output: {prediction.output}")


if __name__ == "__main__":
    main()
