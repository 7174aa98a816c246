"""The prediction store keeps memory bounded without losing a running prediction."""

from __future__ import annotations

from typing import Any

import pytest

from inference_api_mock.models import ECHO, LLAMA, FakeModel, find_by_ref
from inference_api_mock.predictions import Prediction, Store


@pytest.mark.anyio
async def test_the_oldest_finished_predictions_are_forgotten_beyond_the_limit() -> None:
    echo, _ = find_by_ref(ECHO)
    llama, _ = find_by_ref(LLAMA)
    assert echo is not None and llama is not None
    store = Store(speed=1.0, max_predictions=3)

    def create(model: FakeModel, values: dict[str, Any]) -> Prediction:
        return store.create(owner="o", model=model, values=values, base_url="http://x", stream=False)

    running = create(llama, {"prompt": "a long one", "max_new_tokens": 500})
    first, second = create(echo, {"n": 1}), create(echo, {"n": 2})
    first.finish("succeeded")
    second.finish("succeeded")

    third = create(echo, {"n": 3})  # one over the limit: the oldest finished one goes
    assert len(store) == 3
    assert store.get("o", first.id) is None
    assert store.get("o", running.id) is running, "a running prediction is never forgotten"
    assert store.get("o", second.id) is second and store.get("o", third.id) is third
    await store.aclose()
