"""Stream the guide's llama-2-7b-chat answer, printing each piece as it arrives (async).

python examples/async_stream_output.py
"""

from __future__ import annotations

import asyncio

from guide import LLAMA, LLAMA_INPUT

from inference_api import StreamError, async_stream, connect


async def main() -> None:
    async with connect() as client:
        try:
            async with async_stream(client, LLAMA, LLAMA_INPUT) as text:
                async for piece in text:
                    print(piece, end="", flush=True)
        except StreamError as error:  # error.text holds what arrived before the error
            raise SystemExit(f"\nthe stream failed: {error}") from None
        print()


if __name__ == "__main__":
    asyncio.run(main())
