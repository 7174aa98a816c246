"""The prediction store keeps memory bounded without losing a running prediction."""

from __future__ import annotations

from typing import Any

import pytest

from inference_api_mock.models import ECHO, LLAMA, FakeModel, find_by_ref
from inference_api_mock.predictions import Prediction, Store, StoreFull


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


@pytest.mark.anyio
async def test_limits_are_per_token_and_a_forgotten_token_loses_everything() -> None:
    echo, _ = find_by_ref(ECHO)
    llama, _ = find_by_ref(LLAMA)
    assert echo is not None and llama is not None
    store = Store(speed=1.0, max_predictions=3, max_unfinished=2)

    def create(owner: str, model: FakeModel) -> Prediction:
        return store.create(owner=owner, model=model, values={"prompt": "p"}, base_url="http://x", stream=False)

    mine = create("a", echo)
    mine.finish("succeeded")
    running, other = create("b", llama), create("b", llama)
    with pytest.raises(StoreFull, match="unfinished predictions per token"):
        create("b", llama)
    assert create("a", llama).status == "starting", "b's unfinished ones do not count against a"
    other.finish("succeeded")
    for _ in range(3):  # over b's limit of 3: only b's own finished ones make room
        create("b", echo).finish("succeeded")
    assert store.get("a", mine.id) is mine and store.get("b", other.id) is None
    assert (store.usage_of("a").unfinished, store.usage_of("b").unfinished) == (1, 1)
    store.forget_owner("b")
    assert store.get("b", running.id) is None and running.released
    assert len(store) == 2
    await store.aclose()
