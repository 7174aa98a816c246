"""AsyncDeadline: one timer per call cancels only what passes the deadline, and nothing else."""

from __future__ import annotations

import asyncio
import time

import pytest

from inference_api._deadline import DeadlineExpired, deadline_after
from inference_api._deadline_async import AsyncDeadline


def test_an_await_past_the_deadline_is_cancelled_and_the_task_is_left_clean() -> None:
    async def main() -> None:
        guard = AsyncDeadline(time.monotonic() + 0.05)
        with pytest.raises(DeadlineExpired):
            await guard.run(asyncio.sleep(30))
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0
        await asyncio.sleep(0.01)  # no stray cancellation left behind
        with pytest.raises(DeadlineExpired):
            await guard.run(asyncio.sleep(0))  # already past: refused at once
        guard.close()

    asyncio.run(main())


def test_someone_elses_cancellation_goes_on() -> None:
    async def waiter(guard: AsyncDeadline) -> None:
        await guard.run(asyncio.sleep(30))

    async def main() -> None:
        guard = AsyncDeadline(time.monotonic() + 30)
        task = asyncio.ensure_future(waiter(guard))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        guard.close()

    asyncio.run(main())


def test_time_spent_between_awaits_is_not_cancelled_and_a_later_deadline_rearms() -> None:
    async def main() -> None:
        guard = AsyncDeadline(time.monotonic() + 0.05)
        assert await guard.run(asyncio.sleep(0, "first")) == "first"
        guard.deadline = time.monotonic() + 0.3  # an idle timeout restarted by an event
        await asyncio.sleep(0.1)  # the first timer fires now, between awaits: it re-arms
        assert await guard.run(asyncio.sleep(0.05, "second")) == "second"
        with pytest.raises(DeadlineExpired):
            await guard.run(asyncio.sleep(30))
        guard.close()

    asyncio.run(main())


def test_deadline_after_refuses_nonsense() -> None:
    assert deadline_after(None) is None
    with pytest.raises(ValueError, match=">= 0"):
        deadline_after(float("nan"))
    with pytest.raises(ValueError):
        deadline_after(-1)
