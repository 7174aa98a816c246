"""The mock server's fake models and the scripts they follow.

Five models, each known by its full reference `owner/name:version`:

- `LLAMA` and `MISTRAL`, the guide's chat models: deterministic text derived from the prompt, one
  piece per token (never more than `max_new_tokens`), pieces with spaces, line breaks and
  non-ASCII text. Output: the list of pieces.
- `IMAGE_TO_VIDEO`, the guide's image-to-video model: logs its denoising steps, then outputs the
  URL of a small MP4 file that the mock server serves itself.
- `ECHO`: output is its input object, unchanged.
- `FAIL`: always ends `failed`, with an error message.

ECHO and FAIL exist on the mock server only: openapi.yaml does not name them (their versions are
SHA-256 hashes of their names), so, like any model the spec does not name, they take any input
object. Any other version is unknown: 404.

A run is a *script*: a list of steps, each due a number of model-seconds after the prediction was
created (at speed 1.0: a ~0.5 s boot, then ~20 text pieces per second). Scripts are pure data; the
runner in `inference_api_mock.predictions` plays them back at the server's speed.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping
from typing import Any, Literal

import attrs


def _mock_version(owner_name: str) -> str:
    return hashlib.sha256(owner_name.encode()).hexdigest()


LLAMA = "meta/llama-2-7b-chat:f1d50bb24186c52daae319ca8366e53debdaa9e0ae7ff976e918df752732ccc4"
MISTRAL = "mistralai/mistral-7b-instruct-v0.1:5fe0a3d7ac2852264a25279d1dfb798acbc4d49711d126646594e212cb821749"
IMAGE_TO_VIDEO = "ali-vilab/i2vgen-xl:5821a338d00033abaaba89080a17eb8783d9a17ed710a6b4246a18e0900ccad4"
ECHO = "mock/echo:" + _mock_version("mock/echo")
FAIL = "mock/fail:" + _mock_version("mock/fail")

BOOT_SECONDS = 0.5
PIECES_PER_SECOND = 20.0
STEP_LOG_SECONDS = 0.1
DEFAULT_MAX_NEW_TOKENS = 128
MAX_PIECES = 2048  # a context window: `min_new_tokens` has no maximum in the spec
FAIL_MESSAGE = "mock/fail always fails: this model exists to test error handling"

ModelKind = Literal["chat", "video", "echo", "fail"]
StepKind = Literal["start", "logs", "piece", "output", "succeed", "fail"]


@attrs.frozen
class FakeModel:
    """A model the server knows: its reference and kind.

    Which input each model takes is openapi.yaml's business: for the guide's three models the
    request bodies tie `input` to the model's input schema, and the server validates bodies
    against the spec; ECHO and FAIL take any input object, like any model the spec does not name.
    """

    ref: str
    kind: ModelKind

    @property
    def name(self) -> str:
        return self.ref.split(":", 1)[0]

    @property
    def version(self) -> str:
        return self.ref.split(":", 1)[1]


MODELS: tuple[FakeModel, ...] = (
    FakeModel(LLAMA, "chat"),
    FakeModel(MISTRAL, "chat"),
    FakeModel(IMAGE_TO_VIDEO, "video"),
    FakeModel(ECHO, "echo"),
    FakeModel(FAIL, "fail"),
)
BY_VERSION = {model.version: model for model in MODELS}
BY_NAME = {model.name: model for model in MODELS}


def known_refs() -> str:
    return ", ".join(model.ref for model in MODELS)


def find_by_version(version: str) -> FakeModel | None:
    return BY_VERSION.get(version)


def find_by_ref(ref: str) -> tuple[FakeModel | None, str]:
    """The model for `owner/name:version`, or None and a sentence saying what is wrong."""
    name, _, version = ref.partition(":")
    model = BY_NAME.get(name)
    if model is None:
        return None, f"Unknown model {name!r}. This server knows: {known_refs()}."
    if model.version != version:
        return None, f"Model {name!r} has no version {version!r}; its version is {model.version!r}."
    return model, ""


@attrs.frozen
class Step:
    """One thing a model does, `at` model-seconds after its prediction was created."""

    at: float
    kind: StepKind
    value: Any = None


# Pieces of the fake chat text. Several carry a leading space, some a line break (inside or on
# their own) and some non-ASCII text, so that clients must handle all three.
_VOCABULARY = (
    " gold", " rush", " partner", " the", " bay", " fog", " hills", ",", ".", "!", " and", " a",
    " Golden", " Gate", " cable", " cars", " café", " naïve", " señor", " 金門橋", " 🌉", " über",
    "\n", "\n\n", ".\n", " steamed", " hams", " — ", " «well»", " ça", " va", " 1849",
    " line\nbreak", " ∑", " Ω", " it", " is", " fine", " indeed",
)  # fmt: skip


def chat_pieces(prompt: str, max_new_tokens: int, min_new_tokens: int = -1, salt: str = "") -> list[str]:
    """Deterministic text for a prompt: the same prompt always gives the same pieces."""
    seed = int.from_bytes(hashlib.sha256(f"{salt}\x00{prompt}".encode()).digest()[:8], "big")
    generator = random.Random(seed)  # noqa: S311 - reproducible fake text, not a secret
    natural_length = 48 + seed % 80
    count = min(max_new_tokens, max(natural_length, min_new_tokens), MAX_PIECES)
    words = prompt.split()[:6]
    opening = ["You", " asked", ":", " «", *(f" {word}" if i else word for i, word in enumerate(words)), "»", "\n"]
    pieces = opening + [generator.choice(_VOCABULARY) for _ in range(max(0, count - len(opening)))]
    return pieces[:count]


def _int_input(values: Mapping[str, Any], key: str, default: int) -> int:
    value = values.get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def script(model: FakeModel, values: Mapping[str, Any], file_url: str) -> list[Step]:
    """What `model` does with input `values`; `file_url` is where a video output will be served."""
    steps = [Step(0.0, "logs", f"Booting {model.name}…"), Step(BOOT_SECONDS, "start")]
    clock = BOOT_SECONDS
    if model.kind == "chat":
        prompt = values.get("prompt", "")
        max_new_tokens = _int_input(values, "max_new_tokens", DEFAULT_MAX_NEW_TOKENS)
        pieces = chat_pieces(
            prompt if isinstance(prompt, str) else json.dumps(prompt),
            max(1, max_new_tokens),
            _int_input(values, "min_new_tokens", -1),
            salt=model.name,
        )
        steps.append(Step(clock, "logs", f"Generating up to {max_new_tokens} tokens"))
        for piece in pieces:
            clock += 1 / PIECES_PER_SECOND
            steps.append(Step(clock, "piece", piece))
        steps.append(Step(clock, "logs", f"Generated {len(pieces)} tokens"))
        steps.append(Step(clock, "succeed"))
    elif model.kind == "video":
        total = max(1, _int_input(values, "num_inference_steps", 50))
        stride = max(1, total // 10)
        for step in range(stride, total + 1, stride):
            clock += STEP_LOG_SECONDS
            steps.append(Step(clock, "logs", f"Denoising step {step}/{total}"))
        steps.append(Step(clock, "output", file_url))
        steps.append(Step(clock, "succeed"))
    elif model.kind == "echo":
        steps.append(Step(clock, "output", dict(values)))
        steps.append(Step(clock, "succeed"))
    else:
        steps.append(Step(clock, "logs", "Loading weights"))
        clock += STEP_LOG_SECONDS
        steps.append(Step(clock, "logs", "Something went wrong"))
        steps.append(Step(clock, "fail", FAIL_MESSAGE))
    return steps
