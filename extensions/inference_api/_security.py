"""Keeping the token to its origin and out of text, and path ids inside their path. Pure."""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import threading
import traceback
import weakref
from collections.abc import Iterable, Iterator
from typing import Any, TextIO, TypeVar

import httpx

__all__ = [
    "REDACTED",
    "check_prediction_id",
    "keep_out_of_logs",
    "mentions",
    "redact",
    "redact_value",
    "redacted_output",
    "same_origin",
    "scrub",
]

REDACTED = "[REDACTED]"

ErrorT = TypeVar("ErrorT", bound=BaseException)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _spellings(secret: str) -> set[str]:
    # As is, and as repr() quotes it in error messages (h11: "Illegal header value b'Bearer ...'").
    return {secret, repr(secret)[1:-1], repr(secret.encode("utf-8", "backslashreplace"))[2:-1]}


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every occurrence of each secret, also escaped as repr() writes it, replaced by `[REDACTED]`."""
    for secret in secrets:
        if secret:
            for spelling in sorted(_spellings(secret), key=len, reverse=True):
                text = text.replace(spelling, REDACTED)
    return text


def mentions(text: str, secrets: Iterable[str | None]) -> bool:
    """Whether `text` contains one of the secrets (in any spelling `redact` removes)."""
    return redact(text, secrets) != text


def redact_value(value: Any, secrets: tuple[str, ...]) -> Any:
    """A JSON-like value with every string in it redacted (its depth is bounded by the JSON limits)."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [redact_value(item, secrets) for item in value]
    if isinstance(value, dict):
        return {redact(str(key), secrets): redact_value(item, secrets) for key, item in value.items()}
    return value


def _leaks(error: BaseException, secrets: tuple[str, ...]) -> bool:
    try:
        return mentions(str(error), secrets) or mentions(repr(error), secrets)
    except Exception:  # an exception whose str() fails cannot be shown either: drop it
        return True


def scrub(error: ErrorT, secrets: tuple[str, ...]) -> ErrorT:
    """`error`, with no secret left in it or in what is chained to it; changed in place.

    The SDK's errors (`message`, `detail`, `request_id`, `args`) are redacted; any other exception
    chained to it (`__cause__`, `__context__`) that mentions a secret is cut off, with everything
    chained behind it. The last line of defence, where errors leave the SDK: the server may
    echo the token anywhere (an event, a header, a broken chunk line).
    """
    if not any(secrets):
        return error
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        message = getattr(current, "message", None)
        if isinstance(message, str) and hasattr(current, "detail"):  # an APIError
            redacted = redact(message, secrets)
            current.message = redacted  # type: ignore[attr-defined]
            current.args = (redacted,)
            current.detail = redact_value(current.detail, secrets)
            request_id = getattr(current, "request_id", None)
            if isinstance(request_id, str):
                current.request_id = redact(request_id, secrets)  # type: ignore[attr-defined]
        if current.__cause__ is not None and _leaks(current.__cause__, secrets):
            current.__cause__ = None
            current.__suppress_context__ = True
        if current.__context__ is not None and _leaks(current.__context__, secrets):
            current.__context__ = None
        current = current.__cause__ if current.__cause__ is not None else current.__context__
    return error


# Loggers of the HTTP stack whose records can quote what a server sent: httpcore's DEBUG traces
# quote protocol errors ("illegal chunk header: bytearray(b'...')"), httpx's INFO lines the status
# line. A filter applies only to records created on its own logger, so each one is listed.
_LOGGERS = (
    "inference_api",
    "inference_api.streaming",
    "inference_api.waiting",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "aiohttp.client",
    "aiohttp.internal",
    "asyncio",
)
# The clients in use, by id, held weakly: a client's token is looked for while it lives.
_clients: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_clients_lock = threading.Lock()
# Shorter tokens would match ordinary words in every record of the process (a test's token "t");
# the SDK's own messages still leave them out.
_MIN_LOGGED_SECRET = 8


def _live_secrets() -> tuple[str, ...]:
    with _clients_lock:
        clients = list(_clients.values())
    return tuple(
        {token for client in clients if len(token := getattr(client, "token", "") or "") >= _MIN_LOGGED_SECRET}
    )


class _RedactingFilter(logging.Filter):
    """Removes the tokens of the clients in use from log records (their message and traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _live_secrets()
        if not secrets:
            return True
        message = record.getMessage()
        if mentions(message, secrets):
            record.msg, record.args = redact(message, secrets), None
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(record.exc_info[1]))
            if mentions(text, secrets):
                record.exc_info, record.exc_text = None, redact(text, secrets).rstrip("\n")
        return True


_FILTER = _RedactingFilter()


def redacting_filter() -> logging.Filter:
    """The filter that takes the live clients' tokens out of log records (for a handler of one's own)."""
    return _FILTER


def keep_out_of_logs(client: Any) -> None:
    """While `client` lives, redact its `token` from the records of the SDK's and the HTTP stack's loggers.

    Cheap to call on every request (a dict lookup once registered). Costs nothing while those
    loggers are disabled: a filter runs only on records created.
    """
    if id(client) in _clients:
        return
    with _clients_lock:
        try:
            _clients[id(client)] = client
        except TypeError:  # not weakly referenceable: its token stays out of the SDK's messages only
            return
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)


class _RedactingWriter:
    """A text stream that writes to `stream` with the secrets taken out, even when one arrives
    split across writes (a model's output, printed piece by piece as it streams): the end of a
    write that could begin a secret is held back until the next write or `flush`."""

    def __init__(self, stream: TextIO, secrets: tuple[str, ...]) -> None:
        self._stream = stream
        self._secrets = secrets
        self._spellings = sorted({spelling for secret in secrets if secret for spelling in _spellings(secret)})
        self._held = ""

    def write(self, text: str) -> int:
        text = redact(self._held + text, self._secrets)
        held = max((len(prefix) for prefix in self._open_prefixes(text)), default=0)
        self._held = text[len(text) - held :] if held else ""
        self._stream.write(text[: len(text) - held])
        return len(text)

    def _open_prefixes(self, text: str) -> Iterator[str]:
        for spelling in self._spellings:
            for length in range(min(len(spelling) - 1, len(text)), 0, -1):
                if text.endswith(spelling[:length]):
                    yield spelling[:length]
                    break

    def flush(self) -> None:
        # What is held back stays held: the next write tells whether it begins a secret.
        self._stream.flush()

    def release(self) -> None:
        """Write what is held back: the output is over."""
        if self._held:
            self._stream.write(self._held)
            self._held = ""
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def redacted_output(secrets: tuple[str, ...]) -> Iterator[None]:
    """While inside, whatever is printed to stdout and stderr has the secrets taken out (the CLI's
    output: a server may echo the token in a prediction's output or logs)."""
    stdout, stderr = sys.stdout, sys.stderr
    writers = _RedactingWriter(stdout, secrets), _RedactingWriter(stderr, secrets)
    sys.stdout, sys.stderr = writers
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        for writer in writers:
            writer.release()


def _origin(url: httpx.URL | str) -> tuple[str, str, int | None]:
    url = httpx.URL(url)
    scheme = url.scheme.lower()
    return scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(scheme)


def same_origin(url: httpx.URL | str, base_url: httpx.URL | str) -> bool:
    """Whether `url` has the scheme, host and port of `base_url` (RFC 6454 origins).

    127.0.0.1 and localhost are different origins, as are http and https. A relative `url` has
    no origin of its own and counts as the same (it is resolved against `base_url`).
    """
    url = httpx.URL(url)
    if url.is_relative_url:
        return True
    return _origin(url) == _origin(base_url)


# Unicode's category Cc, exactly: C0 controls, DEL and C1 controls.
_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f]")


def check_prediction_id(prediction_id: str) -> str:
    """Refuse an id that could leave its path segment, or never be valid; return it unchanged otherwise.

    The generated client percent-encodes ids, but `.` and `..` survive encoding and httpx then
    removes them from the path (`/v1/predictions/..` would become `/v1/`). Blank ids, ids with
    surrounding whitespace and ids with control characters would be encoded safely, but no
    prediction has one: refused here, before a request that can only fail (or hit another path).
    """
    if not isinstance(prediction_id, str):
        raise TypeError(f"a prediction id is a string, not {type(prediction_id).__name__}")
    if (
        prediction_id in ("", ".", "..")
        or "/" in prediction_id
        or prediction_id.strip() != prediction_id  # a blank id (" ") is all surrounding whitespace
        or _CONTROL_CHARACTER.search(prediction_id)
    ):
        raise ValueError(f"not a valid prediction id: {prediction_id!r}")
    return prediction_id
