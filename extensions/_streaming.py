"""What the events of an output stream mean, without I/O.

`StreamState` is fed the bytes of one logical stream, across reconnections. It decodes them with
`extensions.sse.SSEDecoder`, drops events a resumed server sends again, says which text piece an
event carries, raises the typed error an `error` event or a failed `done` stands for, and keeps
what a reconnection needs (the last event id, the server's `retry`). `ResumePolicy` decides
whether and when to reconnect. The sync and async drivers in extensions.streaming share both.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import attrs

from .errors import PredictionCanceledError, StreamError
from .sse import ServerSentEvent, SSEDecoder

if TYPE_CHECKING:
    from generated_client.models.prediction import Prediction

__all__ = ["ResumePolicy", "StreamState"]


def _json_object(data: str) -> dict[str, Any] | None:
    try:
        value = json.loads(data) if data.strip() else {}
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _numeric_id(event_id: str) -> int | None:
    return int(event_id) if event_id.isascii() and event_id.isdigit() else None


@attrs.define
class StreamState:
    """Everything received on one logical stream, across reconnections.

    `text` is all the output text received so far, `log_lines` the `logs` events; `last_event_id`
    is what to send as `Last-Event-ID` when resuming and `retry_ms` the server's latest
    reconnection delay (both as the WHATWG decoder keeps them).
    """

    # The prediction being followed, if any: attached to PredictionCanceledError.
    prediction: Prediction | None = None
    pieces: list[str] = attrs.field(factory=list)
    log_lines: list[str] = attrs.field(factory=list)
    done: bool = False
    done_data: dict[str, Any] = attrs.field(factory=dict)
    events_received: int = 0
    events_this_connection: int = 0
    _decoder: SSEDecoder = attrs.field(factory=SSEDecoder, init=False)
    # After a reconnection, until the first new event: the id we resumed after.
    _resumed_after: int | None = attrs.field(default=None, init=False)
    # The id the previous event carried: an event carrying the same id did not set one (ids
    # carry over from event to event), so it says nothing about repeats.
    _previous_id: str = attrs.field(default="", init=False)

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def last_event_id(self) -> str:
        return self._decoder.last_event_id

    @property
    def retry_ms(self) -> int | None:
        return self._decoder.retry

    @property
    def can_resume(self) -> bool:
        """Whether a new connection can continue without repeating or losing an event."""
        # Without an id the server cannot know where we were; starting over is only safe when
        # nothing was received yet.
        return bool(self.last_event_id) or self.events_received == 0

    def start_connection(self) -> None:
        """A connection begins: after the first one, it resumes after `last_event_id`."""
        self._decoder.close()  # Drops an unfinished event; keeps the last event id and retry.
        self._previous_id = self.last_event_id
        self._resumed_after = _numeric_id(self.last_event_id) if self.events_received else None
        self.events_this_connection = 0

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode a chunk; return the new events it completes (never one received before)."""
        events = self._decoder.feed(chunk)
        if self._resumed_after is not None and events:
            events = [event for event in events if not self._is_repeat(event)]
        self.events_received += len(events)
        self.events_this_connection += len(events)
        return events

    def _is_repeat(self, event: ServerSentEvent) -> bool:
        # A server that ignored Last-Event-ID replays events we have; their ids give them away.
        sets_id = event.id != self._previous_id
        self._previous_id = event.id
        current = _numeric_id(event.id)
        if sets_id and current is not None and self._resumed_after is not None and current <= self._resumed_after:
            return True
        self._resumed_after = None  # The first new event: nothing after it can be a repeat.
        return False

    def apply(self, event: ServerSentEvent) -> str | None:
        """Take one event; return the text piece it carries, if any.

        Raises StreamError for an `error` event (or a `done` that reports another failure) and
        PredictionCanceledError for a `done` whose reason is `canceled`.
        """
        kind = event.event
        if kind == "output":
            self.pieces.append(event.data)
            return event.data
        if kind == "logs":
            self.log_lines.append(event.data)
            return None
        if kind == "error":
            body = _json_object(event.data)
            detail = body.get("detail", body) if body is not None else event.data
            raise StreamError(f"the model reported an error: {detail}", text=self.text, detail=detail)
        if kind == "done":
            self.done = True
            self.done_data = _json_object(event.data) or {}
            reason = self.done_data.get("reason")
            if reason == "canceled":
                raise PredictionCanceledError("the prediction was canceled", prediction=self.prediction)
            if reason:
                raise StreamError(f"the stream ended: {reason}", text=self.text, detail=self.done_data)
            return None
        # Unknown event types are newer than this SDK: skip them rather than fail.
        return None

    def ended_early(self, cause: str) -> StreamError:
        """The error for a stream that ended before `done` and is not resumed."""
        return StreamError(
            f"the stream ended before `done` ({cause}); {len(self.text)} characters of text received",
            text=self.text,
        )


@attrs.frozen
class ResumePolicy:
    """When to reconnect a dropped prediction stream.

    At most `max_attempts` reconnections in a row that bring no new event: a long stream on a
    flaky network goes on while it makes progress, a dead one stops. The delay is the server's
    `retry`, or `default_delay` when it sent none, and never more than `max_delay`.
    `ResumePolicy(max_attempts=0)` never reconnects.
    """

    max_attempts: int = attrs.field(default=5, validator=attrs.validators.ge(0))
    default_delay: float = attrs.field(default=1.0, validator=attrs.validators.ge(0))
    max_delay: float = attrs.field(default=10.0, validator=attrs.validators.ge(0))

    def delay(self, retry_ms: int | None) -> float:
        wanted = self.default_delay if retry_ms is None else retry_ms / 1000
        return min(wanted, self.max_delay)

    def should_retry(self, attempts_without_progress: int) -> bool:
        """Whether to reconnect after `attempts_without_progress` failed connections in a row (1+)."""
        return attempts_without_progress <= self.max_attempts
