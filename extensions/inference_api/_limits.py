"""How much of a server's answer the SDK holds, and JSON parsing that respects it. Pure.

A hostile or broken server must not exhaust memory or the interpreter's stack: bodies, events and
JSON nesting have limits, and going past one is a typed error (`APIResponseError`, `StreamError`),
never a `MemoryError` or a `RecursionError`.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

__all__ = ["DEFAULT_LIMITS", "JSONTooDeep", "ResponseLimits", "loads"]

MiB = 1024 * 1024


@attrs.frozen
class ResponseLimits:
    """Limits on what the SDK reads from a server, and on the files it sends; `connect(limits=ResponseLimits(...))`.

    - `max_body_bytes`: a response body read whole (a prediction, an error), after decompression.
      A larger success body raises `APIResponseError`; an error body is cut to this size (only
      its start is shown anyway).
    - `max_json_depth`: how deeply arrays and objects may nest in JSON from the server (bodies and
      event data); deeper raises `APIResponseError` (in a stream, `StreamError`).
    - `max_event_size`: characters in one line, or one event's data, of an event stream; more
      raises `StreamError`, which is not retried by reconnecting (the server would send it
      again). Each data line after an event's first also counts 64 characters: what keeping it
      apart costs in memory, so that a million tiny lines cannot get around the limit.

    - `max_download_bytes`: bytes `download` writes, after decompression (default 16 GiB); more
      raises `APIResponseError` and leaves no file.
    - `max_decoded_ratio`: how many times its encoded size a compressed download may grow
      (default 100; a gzip bomb grows 1,000 times), checked once 1 MiB is decoded; more raises
      `APIResponseError` and leaves no file.

    And the one limit on what the SDK sends:
    - `max_file_bytes`: a local file in an input (a `pathlib.Path` or an open binary file), sent
      as a `data:` URI (default 32 MiB). Its size is checked before reading; larger files, and
      anything but a regular file (a device, a FIFO), raise ValueError. Inputs nest at most
      `max_json_depth` levels too.

    The defaults leave far more room than any prediction needs: model outputs are URLs and text.
    """

    max_body_bytes: int = attrs.field(default=32 * MiB, validator=attrs.validators.ge(1))
    max_json_depth: int = attrs.field(default=128, validator=attrs.validators.ge(1))
    max_event_size: int = attrs.field(default=16 * MiB, validator=attrs.validators.ge(1))
    max_download_bytes: int = attrs.field(default=16 * 1024 * MiB, validator=attrs.validators.ge(1))
    max_decoded_ratio: float = attrs.field(default=100.0, validator=attrs.validators.ge(1))
    max_file_bytes: int = attrs.field(default=32 * MiB, validator=attrs.validators.ge(0))


DEFAULT_LIMITS = ResponseLimits()


class JSONTooDeep(ValueError):
    """JSON nested deeper than the limit."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON nested deeper than {max_depth} levels")
        self.max_depth = max_depth


def _deeper_than(value: Any, max_depth: int) -> bool:
    """Whether lists and dicts nest deeper than `max_depth`, found without recursion."""
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if level > max_depth:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, level + 1))
    return False


def loads(document: bytes | str, max_depth: int) -> Any:
    """`json.loads`, raising `JSONTooDeep` (a ValueError) for JSON nested deeper than `max_depth`.

    The C parser recurses once per level and raises RecursionError near the interpreter's limit;
    our code (and the caller's) recursing over a value just under it would fail later. Counting
    the brackets first spares the depth walk for the usual body, which has few.
    """
    try:
        value = json.loads(document)
    except RecursionError:
        raise JSONTooDeep(max_depth) from None
    if isinstance(value, dict | list):
        openers = (
            document.count(b"[") + document.count(b"{")
            if isinstance(document, bytes)
            else document.count("[") + document.count("{")
        )
        if openers > max_depth and _deeper_than(value, max_depth):
            raise JSONTooDeep(max_depth)
    return value
