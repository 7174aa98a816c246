"""Create the guide's image-to-video prediction, then wait for it, printing its progress (async).

    python examples/async_create_and_wait.py

As create_and_wait.py, with `async_create` and `async_wait`: canceling the waiting task cancels
the prediction too.
"""

from __future__ import annotations

import asyncio
import sys
import time

from guide import IMAGE_TO_VIDEO, VIDEO_INPUT

from inference_api import Prediction, PredictionError, async_create, async_wait, connect


async def main() -> None:
    started = time.monotonic()

    def show(prediction: Prediction) -> None:
        logs = prediction.logs if isinstance(prediction.logs, str) else ""
        last_line = logs.strip().splitlines()[-1] if logs.strip() else ""
        print(f"{time.monotonic() - started:6.1f} s  {prediction.status!s:<10} {last_line}", flush=True)

    async with connect() as client:
        prediction = await async_create(client, IMAGE_TO_VIDEO, VIDEO_INPUT)
        print(f"created {prediction.id}")
        try:
            prediction = await async_wait(client, prediction, timeout=600, on_update=show, cancel_on_interrupt=True)
        except PredictionError as error:  # failed or canceled: error.prediction says more
            sys.exit(f"{prediction.id}: {error}")
        print(f"output: {prediction.output}")


if __name__ == "__main__":
    asyncio.run(main())
