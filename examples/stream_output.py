"""Stream the guide's llama-2-7b-chat answer, printing each piece as it arrives (POST /v1/run_sse).

python examples/stream_output.py
"""

from __future__ import annotations

from guide import LLAMA, LLAMA_INPUT

from inference_api import StreamError, connect, stream


def main() -> None:
    with connect() as client:
        try:
            for piece in stream(client, LLAMA, LLAMA_INPUT):
                print(piece, end="", flush=True)
        except StreamError as error:  # error.text holds what arrived before the error
            raise SystemExit(f"\nthe stream failed: {error}") from None
        print()


if __name__ == "__main__":
    main()
