"""What the events of an output stream mean, without I/O.

`StreamState` is fed the bytes of one logical stream, across reconnections. It decodes them with
`inference_api.sse.SSEDecoder`, drops events a resumed server sends again, says which text piece an
event carries, raises the typed error an `error` event or a failed `done` stands for, and keeps
what a reconnection needs (the last event id, the server's `retry`). `ResumePolicy` decides
whether and when to reconnect, `StreamClock` when the stream must end. The sync and async drivers
in inference_api.streaming share all three.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import attrs

from ._limits import DEFAULT_LIMITS, ResponseLimits, loads
from ._security import redact, redact_value
from .errors import PredictionCanceledError, StreamCanceledError, StreamError, StreamTimeoutError
from .sse import EventTooLarge, ServerSentEvent, SSEDecoder

if TYPE_CHECKING:
    from inference_api_client.models.prediction import Prediction

__all__ = ["ResumePolicy", "StreamClock", "StreamState", "TextSoFar"]

_EXCERPT_LENGTH = 200
# Seeds the id buffer of a resumed connection: an event that sets no id of its own then carries
# this, not the id we resumed from, so it cannot pass for a repeat of that event. No id a server
# sets can equal it: the decoder ignores ids containing NUL.
_NO_ID = "\0"


def _json_object(data: str, max_depth: int) -> dict[str, Any] | None:
    try:
        value = loads(data, max_depth) if data.strip() else {}
    except ValueError:  # not JSON, or too deep (JSONTooDeep): shown as text
        return None
    return value if isinstance(value, dict) else None


def _numeric_id(event_id: str) -> int | None:
    return int(event_id) if event_id.isascii() and event_id.isdigit() else None


def _shown(value: Any) -> str:
    """A short, one-line rendering of a detail or reason the server sent, for a message."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT_LENGTH else text[: _EXCERPT_LENGTH - 1] + "…"


class TextSoFar:
    """Output text received so far, appended piece by piece; `str()` of it is the text.

    A string per piece costs ~60 bytes besides its characters (a 1M-piece stream held 73 MiB for
    4 MiB of text). Here pieces are joined 1,024 at a time into a block, and each block is added
    to one string that CPython grows in place: `text += block` on the only reference resizes it
    (a large string is remapped, not copied). The text is held once, plus a block: joining blocks
    at the end held it twice (2.0x the text beyond httpx-sse, bench_stream_scaling.py). A block
    with wider characters than the text so far (the first emoji) makes one copy; so does a text
    that a caller of `str()` still holds.
    """

    __slots__ = ("_recent", "_text", "length")

    _PIECES = 1024  # pieces joined into a block

    def __init__(self) -> None:
        self._text = ""
        self._recent: list[str] = []
        self.length = 0  # characters

    def append(self, piece: str) -> None:
        recent = self._recent
        recent.append(piece)
        self.length += len(piece)
        if len(recent) >= self._PIECES:
            self._add_recent()

    def _add_recent(self) -> None:
        block = "".join(self._recent)
        self._recent.clear()
        text = self._text
        self._text = ""  # `text` is now the only reference, so `+=` can grow it in place
        text += block
        self._text = text

    def __str__(self) -> str:
        if self._recent:
            self._add_recent()
        return self._text


@attrs.define
class StreamState:
    """Everything received on one logical stream, across reconnections.

    `text` is all the output text received so far (none is kept with `keep_text=False`: a wait
    needs only the stream's end), `log_lines` the `logs` events; `last_event_id` is what to send as
    `Last-Event-ID` when resuming and `retry_ms` the server's latest reconnection delay (both as
    the WHATWG decoder keeps them). `secrets` never appear in the errors it raises; `limits` bound
    each event and the JSON in it.
    """

    # The prediction being followed (None on a run's stream): attached to PredictionCanceledError.
    prediction: Prediction | None = None
    log_lines: list[str] = attrs.field(factory=list)
    done: bool = False
    done_data: dict[str, Any] = attrs.field(factory=dict)
    events_received: int = 0
    events_this_connection: int = 0
    secrets: tuple[str, ...] = attrs.field(default=(), kw_only=True)
    limits: ResponseLimits = attrs.field(default=DEFAULT_LIMITS, kw_only=True)
    keep_text: bool = attrs.field(default=True, kw_only=True)
    _text: TextSoFar = attrs.field(factory=TextSoFar, init=False)
    _decoder: SSEDecoder = attrs.field(init=False)
    # After a reconnection: the id we resumed from, until an event sets an id of its own.
    _resumed_from: str | None = attrs.field(default=None, init=False)
    # After a reconnection, until the first new event: events may be repeats of ones we have.
    _judging_repeats: bool = attrs.field(default=False, init=False)

    @_decoder.default
    def _new_decoder(self) -> SSEDecoder:
        return SSEDecoder(max_size=self.limits.max_event_size)

    @property
    def text(self) -> str:
        return str(self._text)

    @property
    def text_length(self) -> int:
        """Characters of output text received (counted with `keep_text=False` too)."""
        return self._text.length

    @property
    def last_event_id(self) -> str:
        decoded = self._decoder.last_event_id
        return self._resumed_from if decoded == _NO_ID and self._resumed_from is not None else decoded

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
        """A connection begins: after the first one, it resumes from `last_event_id`."""
        resume_from = self.last_event_id
        if self.events_received and resume_from:
            self._resumed_from = resume_from
            self._judging_repeats = True
            self._decoder.last_event_id = _NO_ID  # close() seeds the id buffer with it
        self._decoder.close()  # Drops an unfinished event; keeps the retry.
        self.events_this_connection = 0

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode a chunk; return the new events it completes (never one received before).

        Raises StreamError for a line or event over `limits.max_event_size`.
        """
        try:
            events = self._decoder.feed(chunk)
        except EventTooLarge as exc:
            raise StreamError(
                f"{exc} (ResponseLimits.max_event_size); {self.text_length} characters of text received",
                text=self.text,
            ) from None
        if self._resumed_from is not None and events:
            events = self._after_resume(events)
        self.events_received += len(events)
        self.events_this_connection += len(events)
        return events

    def _after_resume(self, events: list[ServerSentEvent]) -> list[ServerSentEvent]:
        resumed_from = self._resumed_from
        assert resumed_from is not None
        kept = []
        for index, event in enumerate(events):
            if event.id == _NO_ID:
                # Sets no id: a new event, carrying the id we resumed from (as ids carry over).
                kept.append(event._replace(id=resumed_from))
                self._judging_repeats = False
            elif self._judging_repeats and self._is_repeat(event.id, resumed_from):
                continue
            else:
                # An id of its own: the decoder carries real ids from here on, and nothing after
                # a new event can be a repeat.
                self._judging_repeats = False
                self._resumed_from = None
                kept.extend(events[index:])
                break
        return kept

    @staticmethod
    def _is_repeat(event_id: str, resumed_from: str) -> bool:
        # A server that resumes *at* Last-Event-ID sends that event again; one that ignores the
        # header replays from the start. Their ids give both away.
        if event_id == resumed_from:
            return True
        current, resumed = _numeric_id(event_id), _numeric_id(resumed_from)
        return current is not None and resumed is not None and current <= resumed

    def apply(self, event: ServerSentEvent) -> str | None:
        """Take one event; return the text piece it carries, if any.

        Raises StreamError for an `error` event (or a `done` that reports another failure) and
        PredictionCanceledError for a `done` whose reason is `canceled` (StreamCanceledError on a run's stream).
        """
        kind = event.event
        if kind == "output":
            data = event.data
            if self.keep_text:
                self._text.append(data)
            else:
                self._text.length += len(data)
            return data
        if kind == "logs":
            self.log_lines.append(event.data)
            return None
        if kind == "error":
            body = _json_object(event.data, self.limits.max_json_depth)
            detail = redact_value(body.get("detail", body) if body is not None else event.data, self.secrets)
            message = redact(f"the model reported an error: {_shown(detail)}", self.secrets)
            raise StreamError(message, text=self.text, detail=detail)
        if kind == "done":
            self.done = True
            self.done_data = _json_object(event.data, self.limits.max_json_depth) or {}
            reason = self.done_data.get("reason")
            if reason == "canceled":
                if self.prediction is None:  # a run's stream: no prediction to carry
                    raise StreamCanceledError("the run was canceled", text=self.text)
                raise PredictionCanceledError(
                    redact(f"prediction {self.prediction.id} was canceled", self.secrets), prediction=self.prediction
                )
            if reason:
                raise StreamError(
                    f"the stream ended: {_shown(redact_value(reason, self.secrets))}",
                    text=self.text,
                    detail=redact_value(self.done_data, self.secrets),
                )
            return None
        # Unknown event types are newer than this SDK: skip them rather than fail.
        return None

    def ended_early(self, cause: str) -> StreamError:
        """The error for a stream that ended before `done` and is not resumed."""
        return StreamError(
            redact(
                f"the stream ended before `done` ({cause}); {self.text_length} characters of text received",
                self.secrets,
            ),
            text=self.text,
        )


@attrs.define
class StreamClock:
    """When a stream must end: its total deadline, and `idle_timeout` seconds after its last event.

    Times are on `time.monotonic()`; `total_deadline` is `math.inf` when there is none.
    """

    total_deadline: float = math.inf
    idle_timeout: float | None = None
    total_timeout: float | None = None  # the seconds behind total_deadline, for messages
    last_event: float = 0.0

    def started(self, now: float) -> None:
        self.last_event = now

    def saw_event(self, now: float) -> None:
        self.last_event = now

    def deadline(self) -> float:
        if self.idle_timeout is None:
            return self.total_deadline
        return min(self.total_deadline, self.last_event + self.idle_timeout)

    def expired(self, now: float) -> bool:
        return now >= self.deadline()

    def error(self, state: StreamState, now: float) -> StreamTimeoutError:
        """The error for a stream that reached its deadline, with the text so far."""
        if (
            self.idle_timeout is not None
            and now >= self.last_event + self.idle_timeout
            and (self.last_event + self.idle_timeout < self.total_deadline)
        ):
            why = f"no event for {self.idle_timeout:.4g} s (idle_timeout)"
        else:
            total = f" within {self.total_timeout:.4g} s" if self.total_timeout is not None else ""
            why = f"the stream did not end{total}, its total timeout"
        message = f"{why}; {state.text_length} characters of text received"
        return StreamTimeoutError(message, text=state.text, attempts=1)


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
