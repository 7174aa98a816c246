"""Run the guide's mistral-7b-instruct model and print its answer (async).

python examples/async_run_model.py
"""

from __future__ import annotations

import asyncio

from guide import MISTRAL

from inference_api import PredictionError, async_run, connect
from inference_api_client.models import MistralInstructInput

POEM = MistralInstructInput(prompt="Can you write me a poem about steamed hams?", max_new_tokens=500)


async def main() -> None:
    async with connect() as client:
        try:
            prediction = await async_run(client, MISTRAL, POEM)
        except PredictionError as error:
            raise SystemExit(f"the model failed: {error}") from None
        assert isinstance(prediction.output, list)  # a language model's output: its text pieces
        print("".join(prediction.output))


if __name__ == "__main__":
    asyncio.run(main())
