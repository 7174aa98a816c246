"""Cancel a prediction by its id and print its status.

    python examples/cancel_prediction.py [ID]

Without an id, a long llama-2-7b-chat prediction is created first, then canceled. Canceling a
prediction that has already finished changes nothing: its status stays final.
"""

from __future__ import annotations

import sys

from guide import LLAMA, LLAMA_INPUT

from inference_api import cancel, connect, create


def main() -> None:
    with connect() as client:
        prediction_id = sys.argv[1] if len(sys.argv) > 1 else create(client, LLAMA, LLAMA_INPUT).id
        prediction = cancel(client, prediction_id)
        print(f"{prediction.id}: {prediction.status}")


if __name__ == "__main__":
    main()
