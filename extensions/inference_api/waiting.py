"""Waiting for a prediction to finish, with a deadline.

    prediction = wait(client, prediction, timeout=300, on_update=print)
    prediction = await async_wait(client, prediction.id, cancel_on_timeout=True)

- Returns the prediction once it `succeeded`; a `failed` one raises `PredictionError`, a
  `canceled` one `PredictionCanceledError`, both carrying it (`.prediction`).
  A status this SDK does not know is waited through as a new stage, unless it looks final
  ("completed", "errored") or is not a string: then `APIResponseError`, at once.
- `timeout` (seconds, default 600; None waits forever) bounds the whole wait: at the deadline
  `WaitTimeoutError` is raised with the last prediction seen, after canceling the remote
  prediction when `cancel_on_timeout=True` (that cancel is bounded to 10 s). Every request's
  timeouts are cut to the time left, and a retry that would wait past the deadline is not made:
  the error the server gave is raised instead.
- A prediction created with `stream=True` is followed on its event stream, so its end is known
  the moment it happens; then one `get` fetches the final state. If the stream fails, polling
  takes over.
- Otherwise it polls: first after 0.1 s, then 1.5 times longer each time, up to 1 s
  (`poll_interval` takes a `PollSchedule`, or a number for a fixed interval); it never sleeps
  past the deadline.
- `on_update(prediction)` is called with the first state seen and on every change of status,
  logs or output. While following a stream it is called at each `output` and `logs` event with
  the prediction updated from the events (output pieces and logs so far), whose final state then
  comes from the `get`. These updates share one output list, which grows as pieces arrive: copy
  it (`list(prediction.output)`) to keep a snapshot. A copy per piece would make a long stream's
  wait quadratic; as it is, following a stream costs a constant per piece.
- With `cancel_on_interrupt=True`, Ctrl-C (KeyboardInterrupt) and, in async code, cancellation of
  the waiting task cancel the remote prediction before the interruption goes on. Off by default:
  stopping to wait does not by itself mean the work should stop.

The decisions (schedule, deadline, what a final state means) are pure, in `_waiting`; this
module is the sync and async I/O around them.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable

import anyio

from inference_api_client import AuthenticatedClient
from inference_api_client.models.prediction import Prediction

from ._security import check_prediction_id, scrub
from ._streaming import ResumePolicy, StreamClock
from ._waiting import PollSchedule, PredictionSoFar, WaitClock, final_result, has_changed, is_final, timeout_error
from .calls import async_cancel_before, async_get_before, cancel_before, get_before
from .errors import APIError
from .streaming import _async_follow_events, _follow_events, _new_state

__all__ = ["DEFAULT_WAIT_TIMEOUT", "PollSchedule", "async_wait", "wait"]

logger = logging.getLogger("inference_api.waiting")

DEFAULT_WAIT_TIMEOUT = 600.0
# How long a cancel on timeout or interruption may take before we give up on it.
_CANCEL_TIMEOUT = 10.0

UpdateCallback = Callable[[Prediction], object]


def _schedule(poll_interval: PollSchedule | float | None) -> PollSchedule:
    if poll_interval is None:
        return PollSchedule()
    if isinstance(poll_interval, PollSchedule):
        return poll_interval
    return PollSchedule(initial=poll_interval, factor=1.0, maximum=poll_interval)


def _stream_clock(progress: _Progress) -> StreamClock:
    deadline = progress.clock.deadline
    return StreamClock(total_deadline=math.inf if deadline is None else deadline, total_timeout=progress.timeout)


def _has_stream(prediction: Prediction) -> bool:
    return isinstance(prediction.urls.stream, str) and bool(prediction.urls.stream)


class _Progress:
    """What one wait has seen; shared by the sync and async drivers."""

    def __init__(self, client: AuthenticatedClient, prediction_or_id: Prediction | str, timeout: float | None) -> None:
        self.secrets = (client.token,)
        self.timeout = timeout
        self.clock = WaitClock.start(time.monotonic(), timeout)
        if isinstance(prediction_or_id, Prediction):
            self.prediction_id = check_prediction_id(prediction_or_id.id)
            self.last: Prediction | None = prediction_or_id
        else:
            self.prediction_id = check_prediction_id(prediction_or_id)
            self.last = None
        self.reported: Prediction | None = None

    def to_report(self, prediction: Prediction) -> bool:
        """Record a state; whether `on_update` should hear of it."""
        self.last = prediction
        if has_changed(self.reported, prediction):
            self.reported = prediction
            return True
        return False

    def streamed(self, prediction: Prediction) -> None:
        """Record a state made from a stream's event: each one is news (no comparison needed)."""
        self.last = self.reported = prediction


# --- sync -----------------------------------------------------------------------------------------


def wait(
    client: AuthenticatedClient,
    prediction_or_id: Prediction | str,
    *,
    timeout: float | None = DEFAULT_WAIT_TIMEOUT,
    on_update: UpdateCallback | None = None,
    cancel_on_timeout: bool = False,
    cancel_on_interrupt: bool = False,
    poll_interval: PollSchedule | float | None = None,
    follow_stream: bool = True,
) -> Prediction:
    """Wait until the prediction (or prediction id) is final; see the module docstring."""
    progress = _Progress(client, prediction_or_id, timeout)
    schedule = _schedule(poll_interval)

    def see(prediction: Prediction) -> Prediction:
        if progress.to_report(prediction) and on_update is not None:
            on_update(prediction)
        return prediction

    def poll() -> Prediction:
        try:
            prediction = get_before(client, progress.prediction_id, progress.clock.deadline)
        except APIError as error:
            if not progress.clock.expired(time.monotonic()):
                raise
            raise _timed_out(client, progress, cancel_on_timeout) from error
        return see(prediction)

    try:
        current = see(progress.last) if progress.last is not None else poll()
        if not is_final(current, progress.secrets) and follow_stream and _has_stream(current):
            _follow_stream(client, current, progress, on_update)
            current = poll()
        observations = 1
        while not is_final(current, progress.secrets):
            now = time.monotonic()
            if progress.clock.expired(now):
                raise _timed_out(client, progress, cancel_on_timeout)
            time.sleep(progress.clock.sleep_for(schedule.delay(observations), now))
            current = poll()
            observations += 1
        return final_result(current, progress.secrets)
    except APIError as error:
        scrub(error, progress.secrets)  # the server wrote the ids, statuses and errors they quote
        raise
    except KeyboardInterrupt:
        if cancel_on_interrupt:
            _cancel_quietly(client, progress, "interrupted")
        raise


def _follow_stream(
    client: AuthenticatedClient, prediction: Prediction, progress: _Progress, on_update: UpdateCallback | None
) -> None:
    """Read the prediction's stream until `done`, the deadline, or a failure (then polling takes over)."""
    # The stream's text is not kept (the pieces are, as the prediction's output), and resuming is
    # not insisted on: polling is the fallback.
    state = _new_state(client, prediction, keep_text=False)
    events = _follow_events(client, prediction, state, ResumePolicy(max_attempts=2), None, _stream_clock(progress))
    so_far = PredictionSoFar(prediction)
    try:
        if on_update is None:
            for event in events:
                so_far.take(event.event, event.data)
        else:
            for event in events:
                if so_far.take(event.event, event.data):
                    update = so_far.prediction()
                    progress.streamed(update)
                    on_update(update)
    except APIError as exc:
        # Includes the stream's own `error` / canceled `done` and its deadline (the wait's): the
        # get that follows tells the rest, or times the wait out.
        logger.debug("stream of prediction %s ended: %s; fetching its state", progress.prediction_id, exc)
    finally:
        events.close()
        if on_update is None and so_far.changed:  # the last state seen, should the wait time out
            progress.last = so_far.prediction()


def _timed_out(client: AuthenticatedClient, progress: _Progress, cancel_it: bool) -> APIError:
    canceled = False
    if cancel_it:
        canceled = _cancel_quietly(client, progress, "timed out")
    return timeout_error(progress.last, progress.timeout, canceled=canceled, secrets=progress.secrets)


def _cancel_quietly(client: AuthenticatedClient, progress: _Progress, why: str) -> bool:
    """Cancel the remote prediction; a failure to cancel is logged, not raised over the real error."""
    try:
        progress.last = cancel_before(client, progress.prediction_id, time.monotonic() + _CANCEL_TIMEOUT)
    except APIError as exc:
        logger.warning("wait %s: could not cancel prediction %s: %s", why, progress.prediction_id, exc)
        return False
    logger.info("wait %s: canceled prediction %s", why, progress.prediction_id)
    return True


# --- async ----------------------------------------------------------------------------------------


async def async_wait(
    client: AuthenticatedClient,
    prediction_or_id: Prediction | str,
    *,
    # Not anyio.fail_after: at the deadline the remote prediction may need canceling first, and
    # the error must carry the last state seen.
    timeout: float | None = DEFAULT_WAIT_TIMEOUT,  # noqa: ASYNC109
    on_update: UpdateCallback | Callable[[Prediction], Awaitable[object]] | None = None,
    cancel_on_timeout: bool = False,
    cancel_on_interrupt: bool = False,
    poll_interval: PollSchedule | float | None = None,
    follow_stream: bool = True,
) -> Prediction:
    """`wait` for async code; `on_update` may be a plain function or a coroutine function.

    With `cancel_on_interrupt=True`, cancelling the task that waits cancels the remote prediction
    (in a shielded scope, bounded to 10 s) before the cancellation goes on.
    """
    progress = _Progress(client, prediction_or_id, timeout)
    schedule = _schedule(poll_interval)

    async def tell(prediction: Prediction) -> None:
        assert on_update is not None
        result = on_update(prediction)
        if inspect.isawaitable(result):
            await result

    async def see(prediction: Prediction) -> Prediction:
        if progress.to_report(prediction) and on_update is not None:
            await tell(prediction)
        return prediction

    async def poll() -> Prediction:
        try:
            prediction = await async_get_before(client, progress.prediction_id, progress.clock.deadline)
        except APIError as error:
            if not progress.clock.expired(time.monotonic()):
                raise
            raise await _async_timed_out(client, progress, cancel_on_timeout) from error
        return await see(prediction)

    try:
        current = await see(progress.last) if progress.last is not None else await poll()
        if not is_final(current, progress.secrets) and follow_stream and _has_stream(current):
            await _async_follow_stream(client, current, progress, tell if on_update is not None else None)
            current = await poll()
        observations = 1
        while not is_final(current, progress.secrets):
            now = time.monotonic()
            if progress.clock.expired(now):
                raise await _async_timed_out(client, progress, cancel_on_timeout)
            await anyio.sleep(progress.clock.sleep_for(schedule.delay(observations), now))
            current = await poll()
            observations += 1
        return final_result(current, progress.secrets)
    except APIError as error:
        scrub(error, progress.secrets)  # the server wrote the ids, statuses and errors they quote
        raise
    except (KeyboardInterrupt, anyio.get_cancelled_exc_class()):
        if cancel_on_interrupt:
            await _async_cancel_quietly(client, progress, "interrupted")
        raise


async def _async_follow_stream(
    client: AuthenticatedClient,
    prediction: Prediction,
    progress: _Progress,
    tell: Callable[[Prediction], Awaitable[None]] | None,
) -> None:
    state = _new_state(client, prediction, keep_text=False)
    events = _async_follow_events(
        client, prediction, state, ResumePolicy(max_attempts=2), None, _stream_clock(progress)
    )
    so_far = PredictionSoFar(prediction)
    try:
        if tell is None:
            async for event in events:
                so_far.take(event.event, event.data)
        else:
            async for event in events:
                if so_far.take(event.event, event.data):
                    update = so_far.prediction()
                    progress.streamed(update)
                    await tell(update)
    except APIError as exc:
        logger.debug("stream of prediction %s ended: %s; fetching its state", progress.prediction_id, exc)
    finally:
        await events.aclose()
        if tell is None and so_far.changed:
            progress.last = so_far.prediction()


async def _async_timed_out(client: AuthenticatedClient, progress: _Progress, cancel_it: bool) -> APIError:
    canceled = False
    if cancel_it:
        canceled = await _async_cancel_quietly(client, progress, "timed out")
    return timeout_error(progress.last, progress.timeout, canceled=canceled, secrets=progress.secrets)


async def _async_cancel_quietly(client: AuthenticatedClient, progress: _Progress, why: str) -> bool:
    # Shielded: this also runs while the waiting task is being cancelled, where any other await
    # would be cancelled at once.
    with anyio.CancelScope(shield=True), anyio.move_on_after(_CANCEL_TIMEOUT) as scope:
        try:
            progress.last = await async_cancel_before(
                client, progress.prediction_id, time.monotonic() + _CANCEL_TIMEOUT
            )
        except APIError as exc:
            logger.warning("wait %s: could not cancel prediction %s: %s", why, progress.prediction_id, exc)
            return False
    if scope.cancelled_caught:
        logger.warning("wait %s: canceling prediction %s took too long", why, progress.prediction_id)
        return False
    logger.info("wait %s: canceled prediction %s", why, progress.prediction_id)
    return True
