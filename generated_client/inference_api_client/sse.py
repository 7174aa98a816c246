"""Server-sent events: a sans-I/O decoder that follows the WHATWG rules to the letter.

Part of the generated package, so that its event-stream functions need nothing but httpx.
Written rather than taken from httpx-sse, which keeps a leading BOM, dispatches events that carry
no data, accepts `retry` values such as " 1" or "-1" and bounds no line's length.

The HTML standard, "Interpreting an event stream" (html.spec.whatwg.org, server-sent events),
defines how bytes become events. `SSEDecoder` is fed byte chunks and returns the events they
complete; `iter_events` and `aiter_events` drive that same decoder from sync and async chunk
iterators, so the two cannot drift apart.
"""

from __future__ import annotations

import codecs
import sys
from collections.abc import AsyncGenerator, AsyncIterable, Generator, Iterable
from typing import NamedTuple

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "EventTooLarge", "SSEDecoder", "ServerSentEvent", "aiter_events", "iter_events"]

# Characters in one line, or in one event's data, beyond which the decoder stops (16 MiB of ASCII).
DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024
# What keeping one more data line apart costs in memory (a str object and its list slot), counted
# against the limit as well: a million tiny lines must not get around it.
_DATA_LINE_COST = 64


class EventTooLarge(ValueError):
    """A line or an event's data is longer than the decoder's `max_size`.

    The decoder is left mid-event: `close()` it before feeding another stream.
    """

    def __init__(self, max_size: int) -> None:
        super().__init__(f"an event stream line or event is longer than {max_size} characters")
        self.max_size = max_size


class ServerSentEvent(NamedTuple):
    """One dispatched event.

    `id` is the last event ID at dispatch: it carries over from earlier events until the stream
    sets another one ("" when none). `retry` is the reconnection time in milliseconds set by a
    valid `retry` field since the previous event boundary, else None; `SSEDecoder.retry` keeps
    the latest one even when no event carried it.
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


# A tuple subclass is the cheapest result object; calling tuple.__new__ directly skips the
# NamedTuple's Python-level __new__ (about half the cost of building an event).
_new_event = tuple.__new__
_decode_utf8 = codecs.utf_8_decode  # The same replacement rules as the spec's "UTF-8 decode".
_BOM = "\ufeff"
# An event being read: data (None before its first `data` line), the data lines after the first,
# type, ID buffer and block retry.
_PartialEvent = tuple[str | None, list[str] | None, str, str, int | None]


class SSEDecoder:
    """Turns the bytes of one event stream, fed in chunks of any size, into events.

    `feed(chunk)` returns the events completed by that chunk. `close()` ends the stream: an
    event without its terminating blank line is discarded, as the spec requires, and the
    decoder is ready to read the stream of a reconnection.

    For reconnecting, `last_event_id` is the value to send as `Last-Event-ID` (the spec's "last
    event ID string", committed at each blank line even when no event is dispatched) and
    `retry` the latest reconnection time in milliseconds (None until the server sets one).

    Memory is bounded: a line, or an event's data, longer than `max_size` characters raises
    `EventTooLarge` (None: no limit). The spec sets no limit, but a stream that never sends a line
    break would otherwise be held whole.
    """

    __slots__ = (
        "_at_stream_start",
        "_data_size",
        "_event",
        "_fixups",
        "_line_parts",
        "_line_size",
        "_max_size",
        "_skip_lf",
        "_undecoded",
        "last_event_id",
        "retry",
    )

    def __init__(self, last_event_id: str = "", *, max_size: int | None = DEFAULT_MAX_EVENT_SIZE) -> None:
        self.last_event_id = last_event_id
        self.retry: int | None = None
        self._max_size = sys.maxsize if max_size is None else max_size
        self._start_stream()

    def _start_stream(self) -> None:
        # Whether the next chunk needs more than decoding: see _fixed_text. Rare, so one flag spares
        # the usual chunk three checks.
        self._fixups = True
        self._at_stream_start = True
        self._undecoded = b""
        self._skip_lf = False  # The previous text ended with CR: a leading LF completes that CRLF.
        self._line_parts: list[str] = []  # The unfinished line, in pieces to keep long lines linear.
        self._line_size = 0  # Characters in _line_parts.
        # The event being read, None between events (no data, no type, no retry, and the ID buffer is
        # last_event_id): a chunk that ends where an event does, the usual case, then loads and
        # stores no event state. Seeding the ID buffer with last_event_id is also what close()
        # needs: browsers do so on reconnection, where the spec's "initialized to the empty string"
        # would forget it at the next blank line.
        self._event: _PartialEvent | None = None
        self._data_size = 0  # What the event's data counts against max_size, once it has two lines.

    def close(self) -> None:
        """End the stream: discard the unfinished line and event; keep the last event ID and retry."""
        self._start_stream()

    def _fixed_text(self, chunk: bytes) -> str:
        """The text of a chunk that follows undecoded bytes, starts the stream (a BOM to drop) or may
        complete a CRLF split between chunks (an LF to drop)."""
        if self._undecoded:
            chunk = self._undecoded + chunk
        # Incremental: a character split across chunks waits for its remaining bytes.
        text, used = _decode_utf8(chunk, "replace", False)
        self._undecoded = chunk[used:]
        if text:
            if self._at_stream_start:
                self._at_stream_start = False
                if text[0] == _BOM:  # Only one, only at the very start.
                    text = text[1:]
            if self._skip_lf:
                self._skip_lf = False
                if text.startswith("\n"):
                    text = text[1:]
        self._fixups = self._at_stream_start or self._skip_lf or bool(self._undecoded)
        return text

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode one chunk and return the events it completes, in order."""
        if self._fixups:
            text = self._fixed_text(chunk)
        else:
            # Most chunks are whole, valid UTF-8: the strict decoder is twice as fast as the
            # incremental one with replacement, which takes the rest (a character split between
            # chunks, invalid bytes) with the same result.
            try:
                text = chunk.decode()
            except UnicodeDecodeError:
                text = self._fixed_text(chunk)
        if "\r" in text:
            if text[-1] == "\r":
                self._skip_lf = self._fixups = True
            text = text.replace("\r\n", "\n").replace("\r", "\n")

        # Only CR and LF end lines: str.splitlines would also split at U+2028, \x0b, \x85 ...
        lines = text.split("\n")
        tail = lines.pop()  # The unfinished line ("" when the text ends with a line end).
        max_size = self._max_size
        # Lines within a text no longer than max_size are within the limit: only those that span
        # chunks need counting, and only the rare chunk longer than the limit needs each line measured.
        if len(text) > max_size and max(len(tail), max(map(len, lines), default=0)) > max_size:
            raise EventTooLarge(max_size)
        parts = self._line_parts
        if parts:
            if not lines:  # This text continues the unfinished line without ending it.
                self._line_size += len(tail)
                if self._line_size > max_size:
                    raise EventTooLarge(max_size)
                if tail:
                    parts.append(tail)
                return []
            if self._line_size + len(lines[0]) > max_size:
                raise EventTooLarge(max_size)
            parts.append(lines[0])
            lines[0] = "".join(parts)
            parts.clear()
        if tail:
            parts.append(tail)
            self._line_size = len(tail)
        if not lines:
            return []

        events: list[ServerSentEvent] = []
        event = self._event
        last_event_id = self.last_event_id
        more_data: list[str] | None  # The data lines after the event's first, joined at dispatch.
        if event is None:
            data: str | None = None  # None: no `data` field yet. "" is one empty `data` line.
            more_data = None
            event_type = ""
            id_buffer = last_event_id
            block_retry: int | None = None
        else:
            data, more_data, event_type, id_buffer, block_retry = event
        for line in lines:
            if line:
                # Field name before the first colon, one leading space dropped from the value. Most
                # lines read "name: value", so split there first. A name that is no field and holds
                # a colon was split too late: split at the first colon (no space after it to drop)
                # and match again. The loop runs once for all other lines; it spares them a check.
                # A comment (leading colon) gets the empty name and matches nothing.
                name, _, value = line.partition(": ")
                while True:
                    if name == "data":
                        if data is None:
                            data = value  # Within the limit, as its line is.
                        else:
                            if more_data is None:
                                more_data = []
                                self._data_size = len(data)
                            more_data.append(value)
                            self._data_size += len(value) + _DATA_LINE_COST
                            if self._data_size > max_size:
                                raise EventTooLarge(max_size)
                    elif name == "event":
                        event_type = value
                    elif name == "id":
                        if "\0" not in value:
                            id_buffer = value
                    elif name == "retry":
                        if value.isdigit() and value.isascii():
                            block_retry = self.retry = _parse_retry(value)
                    elif ":" in name:
                        name, _, value = line.partition(":")
                        continue
                    break
            else:
                # Blank line: commit the ID, dispatch if there is data, reset the event buffers.
                if data is not None:
                    if more_data is not None:
                        more_data.insert(0, data)
                        data = "\n".join(more_data)
                        more_data = None
                    events.append(_new_event(ServerSentEvent, (event_type or "message", data, id_buffer, block_retry)))
                    data = None
                event_type = ""
                block_retry = None
                last_event_id = id_buffer
        self.last_event_id = last_event_id
        if line:  # The last line left an event unfinished.
            self._event = (data, more_data, event_type, id_buffer, block_retry)
        elif event is not None:
            self._event = None
        return events


def _parse_retry(digits: str) -> int:
    significant = digits.lstrip("0") or "0"
    limit = sys.get_int_max_str_digits()
    if limit and len(significant) > limit:
        # int() refuses this many digits (a guard against quadratic parsing); such a delay is
        # beyond any a caller would honour, so saturate instead of failing.
        significant = "9" * limit
    return int(significant)


def iter_events(chunks: Iterable[bytes], decoder: SSEDecoder | None = None) -> Generator[ServerSentEvent, None, None]:
    """Yield the events of one byte stream as its chunks arrive.

    Pass a `decoder` to keep its `last_event_id` and `retry` across reconnections: each call
    reads a new stream with it, discarding whatever unfinished event an earlier stream left.
    """
    if decoder is None:
        decoder = SSEDecoder()
    else:
        decoder.close()
    # No try/finally: a generator abandoned early may be finalized late, and must not then
    # reset a decoder that already reads the next stream.
    feed = decoder.feed
    for chunk in chunks:
        yield from feed(chunk)
    decoder.close()


async def aiter_events(
    chunks: AsyncIterable[bytes], decoder: SSEDecoder | None = None
) -> AsyncGenerator[ServerSentEvent, None]:
    """Yield the events of one async byte stream as its chunks arrive; see `iter_events`."""
    if decoder is None:
        decoder = SSEDecoder()
    else:
        decoder.close()
    feed = decoder.feed
    async for chunk in chunks:
        for event in feed(chunk):
            yield event
    decoder.close()
