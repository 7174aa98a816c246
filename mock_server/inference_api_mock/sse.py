"""Server-sent events, encoded as the WHATWG HTML standard describes (pure, no I/O).

Each event is one block of `field: value` lines ended by a blank line. Text with line breaks
travels as several `data:` lines (a parser joins them with "\\n"); every event has an `id:` so a
client can resume with `Last-Event-ID`; `retry:` rides on the first event of a stream; comment
lines (starting with ":") keep an idle connection open and are ignored by parsers.
"""

from __future__ import annotations

import re

import attrs

KEEP_ALIVE = b": keep-alive\n\n"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@attrs.frozen
class Event:
    """One event of a prediction's stream: `id` counts up from 1."""

    id: int
    event: str
    data: str


def encode(event: Event, retry_ms: int | None = None) -> bytes:
    """The wire form of one event, `retry:` first when given."""
    lines = []
    if retry_ms is not None:
        lines.append(f"retry: {retry_ms}")
    lines.append(f"id: {event.id}")
    lines.append(f"event: {event.event}")
    # A space after the colon, always: parsers strip exactly one, so leading spaces survive.
    lines.extend(f"data: {line}" for line in _LINE_BREAK.split(event.data))
    return ("\n".join(lines) + "\n\n").encode("utf-8")
