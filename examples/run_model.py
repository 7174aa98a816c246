"""Run the guide's mistral-7b-instruct model and print its answer (POST /v1/run waits for it).

python examples/run_model.py
"""

from __future__ import annotations

from guide import MISTRAL

from inference_api import PredictionError, connect, run
from inference_api_client.models import MistralInstructInput

# The guide's input, as the typed input model generated from the spec (a dict works too).
POEM = MistralInstructInput(
    prompt="Can you write me a poem about steamed hams?",
    top_k=50,
    top_p=0.9,
    temperature=0.7,
    max_new_tokens=500,
    min_new_tokens=-1,
    prompt_template="{prompt}",
    repetition_penalty=1.15,
)


def main() -> None:
    with connect() as client:
        try:
            prediction = run(client, MISTRAL, POEM)
        except PredictionError as error:
            raise SystemExit(f"the model failed: {error}") from None
        assert isinstance(prediction.output, list)  # a language model's output: its text pieces
        print("".join(prediction.output))


if __name__ == "__main__":
    main()
