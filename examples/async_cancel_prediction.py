"""Cancel a prediction by its id and print its status (async).

    python examples/async_cancel_prediction.py [ID]

Without an id, a long llama-2-7b-chat prediction is created first, then canceled.
"""

from __future__ import annotations

import asyncio
import sys

from guide import LLAMA, LLAMA_INPUT

from inference_api import async_cancel, async_create, connect


async def main() -> None:
    async with connect() as client:
        prediction_id = sys.argv[1] if len(sys.argv) > 1 else (await async_create(client, LLAMA, LLAMA_INPUT)).id
        prediction = await async_cancel(client, prediction_id)
        print(f"{prediction.id}: {prediction.status}")


if __name__ == "__main__":
    asyncio.run(main())
