"""Get a prediction by its id and print it.

    python examples/get_prediction.py [ID]

Without an id, a prediction of the guide's image-to-video model is created first.
"""

from __future__ import annotations

import json
import sys

from guide import IMAGE_TO_VIDEO, VIDEO_INPUT

from inference_api import NotFoundError, connect, create, get


def main() -> None:
    with connect() as client:
        prediction_id = sys.argv[1] if len(sys.argv) > 1 else create(client, IMAGE_TO_VIDEO, VIDEO_INPUT).id
        try:
            prediction = get(client, prediction_id)
        except NotFoundError:
            sys.exit(f"no prediction {prediction_id!r} for this token")
        print(f"{prediction.id}: {prediction.status}")
        print(json.dumps(prediction.to_dict(), indent=2))


if __name__ == "__main__":
    main()
