"""Total deadlines for async code, one timer per call: see `_deadline`. Imported on first use (it needs asyncio)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

import anyio

from ._deadline import DeadlineExpired

__all__ = ["AsyncDeadline"]

T = TypeVar("T")


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class AsyncDeadline:
    """A deadline for the awaits of one call or one stream connection; see the module docstring.

        guard = AsyncDeadline(deadline)
        try:
            response = await guard.run(client.send(request))   # DeadlineExpired when too late
            chunk = await guard.run(chunks.__anext__())
        finally:
            guard.close()

    `deadline` may be moved later between awaits (an idle timeout that restarts at each event):
    the timer then re-arms itself for the new time. Off asyncio (trio through anyio) each await
    gets its own cancel scope instead.
    """

    __slots__ = ("_fired", "_handle", "_loop", "_task", "deadline")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._loop = asyncio.get_running_loop() if _on_asyncio() else None
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[Any] | None = None  # the task awaiting I/O under this deadline, now
        self._fired = False

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def _arm(self) -> None:
        assert self._loop is not None
        self._handle = self._loop.call_at(self._loop.time() + (self.deadline - time.monotonic()), self._on_timer)

    def _on_timer(self) -> None:
        self._handle = None
        if time.monotonic() < self.deadline:  # moved later meanwhile
            self._arm()
            return
        task = self._task
        if task is not None and not self._fired:
            self._fired = True
            task.cancel()

    async def run(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable`; raise DeadlineExpired (after cancelling it) if the deadline passes first."""
        if time.monotonic() >= self.deadline:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise DeadlineExpired
        if self._loop is None:
            return await self._run_in_scope(awaitable)
        task = asyncio.current_task()
        assert task is not None
        if self._handle is None:
            self._arm()
        self._task = task
        try:
            result = await awaitable
        except BaseException:
            self._task = None
            if self._fired:
                self._fired = False
                if task.uncancel() == 0:  # ours alone: anyone else's cancellation goes on
                    raise DeadlineExpired from None
            raise
        self._task = None
        if self._fired:
            # The timer cancelled the task just as the awaitable finished: take that cancellation
            # back before it hits an unrelated await.
            self._fired = False
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                if task.uncancel() > 0:
                    raise
            else:
                task.uncancel()
        return result

    async def _run_in_scope(self, awaitable: Awaitable[T]) -> T:
        with anyio.move_on_after(self.deadline - time.monotonic()) as scope:
            return await awaitable
        assert scope.cancelled_caught
        raise DeadlineExpired

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
