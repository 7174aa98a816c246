"""The waiting policy, without I/O: when to poll next, when to give up, what a final state means.

`wait` and `async_wait` (inference_api.waiting) drive this with real clocks, sleeps and requests;
keeping the decisions here means the sync and async drivers cannot drift apart, and the
schedule is tested without a server or a clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import attrs

from inference_api_client.models.prediction import Prediction
from inference_api_client.models.prediction_status import PredictionStatus

from ._fields import has_field, logs_of
from ._security import excerpt, redact
from .errors import APIResponseError, PredictionCanceledError, PredictionError, WaitTimeoutError

__all__ = [
    "FINAL_STATUSES",
    "PollSchedule",
    "PredictionSoFar",
    "WaitClock",
    "final_result",
    "has_changed",
    "is_final",
    "timeout_error",
]

FINAL_STATUSES = frozenset({PredictionStatus.SUCCEEDED, PredictionStatus.FAILED, PredictionStatus.CANCELED})
_KNOWN_STATUSES = frozenset(PredictionStatus)
# Statuses this SDK does not know but whose names say the prediction has ended (compared in lower
# case without separators): waiting for them to change would poll until the deadline.
_FINAL_LOOKING = frozenset(
    {
        "aborted",
        "cancelled",
        "canceled",
        "complete",
        "completed",
        "crashed",
        "done",
        "ended",
        "error",
        "errored",
        "expired",
        "fail",
        "failed",
        "failure",
        "finished",
        "killed",
        "rejected",
        "stopped",
        "succeeded",
        "success",
        "successful",
        "terminated",
        "timedout",
        "timeout",
    }
)


@attrs.frozen
class PollSchedule:
    """Exponential backoff between polls: `initial`, then times `factor`, never above `maximum`.

    Starting fast matters because many predictions finish within a second; backing off keeps a
    long video prediction from costing one request every half second for minutes. With factor
    1.5 a finished prediction is noticed within half the time it has run so far (factor 2 would
    allow all of it: simulated over runs of 0.3-2 s, 0.28 s late on average against 0.63 s),
    until the 1 s bound caps the delay. The bound trades requests for latency: measured with
    benchmarks/bench_wait.py on 8-18 s runs, a 2 s bound noticed the end 1.6 s late (median)
    against 0.07 s for replicate's fixed 0.5 s; 1 s halves that lateness and still makes half
    replicate's requests. Predictions with a stream URL are not polled at all.
    """

    initial: float = attrs.field(default=0.1, validator=attrs.validators.gt(0))
    factor: float = attrs.field(default=1.5, validator=attrs.validators.ge(1))
    maximum: float = attrs.field(default=1.0)

    @maximum.validator
    def _check_maximum(self, _attribute: attrs.Attribute[float], value: float) -> None:
        if value < self.initial:
            raise ValueError(f"maximum ({value}) must be at least initial ({self.initial})")

    def delay(self, polls_done: int) -> float:
        """Seconds to sleep after the `polls_done`-th poll (1 for the first) before the next one."""
        if polls_done < 1:
            return 0.0
        # Compare exponents rather than compute factor**n, which overflows for long waits.
        if self.factor == 1 or (polls_done - 1) * math.log(self.factor) < math.log(self.maximum / self.initial):
            return min(self.initial * self.factor ** (polls_done - 1), self.maximum)
        return self.maximum

    def delays(self) -> Iterable[float]:
        """The delays after each poll, forever: 0.1, 0.15, 0.225, ... maximum, maximum, ..."""
        polls_done = 1
        while True:
            yield self.delay(polls_done)
            polls_done += 1


@attrs.frozen
class WaitClock:
    """An overall deadline on a monotonic clock; `deadline` is None to wait forever."""

    deadline: float | None

    @classmethod
    def start(cls, now: float, timeout: float | None) -> WaitClock:
        if timeout is not None and (math.isnan(timeout) or timeout < 0):
            raise ValueError(f"timeout must be a number of seconds >= 0 or None, not {timeout!r}")
        return cls(None if timeout is None else now + timeout)

    def remaining(self, now: float) -> float | None:
        """Seconds left (never negative), None when there is no deadline."""
        return None if self.deadline is None else max(0.0, self.deadline - now)

    def expired(self, now: float) -> bool:
        return self.deadline is not None and now >= self.deadline

    def sleep_for(self, wanted: float, now: float) -> float:
        """How long to sleep when the schedule wants `wanted` seconds: never past the deadline."""
        remaining = self.remaining(now)
        return wanted if remaining is None else min(wanted, remaining)


def is_final(prediction: Prediction, secrets: tuple[str, ...] = ()) -> bool:
    """Whether the prediction has ended; APIResponseError for a status that cannot be waited on.

    A status this SDK does not know is taken as not final (a new stage such as "queued": keep
    waiting), unless its name says it ended ("completed", "errored", "Succeeded"...) or it is not
    a string at all: then nothing the server will say can end the wait, and an error says why.
    """
    status = prediction.status
    if isinstance(status, str) and status in _KNOWN_STATUSES:  # a StrEnum member, or its value
        return status in FINAL_STATUSES
    if not isinstance(status, str):
        problem = f"{type(status).__name__} {status!r}, not a string"
    elif "".join(character for character in status.lower() if character.isalnum()) in _FINAL_LOOKING:
        problem = f"{status!r}, which this SDK does not know but which looks final"
    else:
        return False
    message = f"prediction {prediction.id} has status {problem}: waiting cannot tell how it ended"
    raise APIResponseError(excerpt(message, 300, secrets))


def _observable(prediction: Prediction) -> tuple[Any, ...]:
    return (str(prediction.status), logs_of(prediction), prediction.output)


def has_changed(previous: Prediction | None, current: Prediction) -> bool:
    """Whether `on_update` should hear of `current`: its status, logs or output differ."""
    return previous is None or _observable(previous) != _observable(current)


def final_result(prediction: Prediction, secrets: tuple[str, ...] = ()) -> Prediction:
    """The prediction when it succeeded; raises PredictionError / PredictionCanceledError otherwise."""
    status = prediction.status
    if status == PredictionStatus.SUCCEEDED:
        return prediction
    if status == PredictionStatus.CANCELED:
        message = redact(f"prediction {prediction.id} was canceled", secrets)
        raise PredictionCanceledError(message, prediction=prediction)
    if status == PredictionStatus.FAILED:
        reason = prediction.error if isinstance(prediction.error, str) and prediction.error else "no error given"
        raise PredictionError(redact(f"prediction {prediction.id} failed: {reason}", secrets), prediction=prediction)
    raise ValueError(redact(f"prediction {prediction.id} is not finished (status {status!s})", secrets))


def timeout_error(
    prediction: Prediction | None, timeout: float | None, *, canceled: bool, secrets: tuple[str, ...] = ()
) -> WaitTimeoutError:
    what = f"prediction {prediction.id}" if prediction is not None else "the prediction"
    status = f" (last status {prediction.status!s})" if prediction is not None else ""
    action = "; it was canceled" if canceled else ""
    message = redact(f"{what} did not finish within {timeout} s{status}{action}", secrets)
    return WaitTimeoutError(message, prediction=prediction)


class PredictionSoFar:
    """The prediction as the events of its stream describe it so far.

        so_far = PredictionSoFar(prediction)
        if so_far.take(event.event, event.data):     # an `output` or `logs` event
            on_update(so_far.prediction())

    The stream is read from its start, so its output pieces and log lines are the whole of them;
    `logs` takes the server's form, each line ended by a line break. Linear in the events: the
    predictions it makes share one output list, which grows as pieces arrive (copy it to keep a
    snapshot). A copy per update made a wait quadratic: 1.4 s of CPU for a 32k-piece stream,
    against 65 ms to stream it. The logs string is rebuilt at each `logs` event only.
    """

    __slots__ = ("_fields", "_logs", "_prediction", "_processing", "changed", "output")

    def __init__(self, prediction: Prediction) -> None:
        self._prediction = prediction
        # The constructor's arguments, taken once: `attrs.evolve` looks them up at every call.
        fields = attrs.fields(Prediction)
        self._fields: dict[str, Any] = {
            field.alias or field.name: getattr(prediction, field.name) for field in fields if field.init
        }
        self.output: list[str] = []
        self._logs: str | None = None
        self._processing = prediction.status == PredictionStatus.STARTING
        self.changed = False  # whether any event changed the prediction

    def take(self, kind: str, data: str) -> bool:
        """Take one event; whether it changed the prediction (an `output` or `logs` event)."""
        if kind == "output":
            self.output.append(data)
        elif kind == "logs":
            self._logs = f"{self._logs or ''}{data}\n"
        else:
            return False
        self.changed = True
        return True

    def prediction(self) -> Prediction:
        """A new `Prediction` as it stands; its output list is the one that goes on growing."""
        fields = self._fields
        fields["output"] = self.output
        if self._logs is not None and has_field("logs"):
            fields["logs"] = self._logs
        if self._processing and self.changed:
            fields["status"] = PredictionStatus.PROCESSING
        updated = Prediction(**fields)
        updated.additional_properties = dict(self._prediction.additional_properties)
        return updated
