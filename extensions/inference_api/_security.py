"""Keeping the token to its origin and out of text, and path ids inside their path. Pure."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import sys
import threading
import traceback
import urllib.parse
import weakref
from collections.abc import Iterable, Iterator
from typing import Any, TextIO, TypeVar

import httpx

__all__ = [
    "REDACTED",
    "RedirectRefused",
    "check_prediction_id",
    "excerpt",
    "keep_out_of_logs",
    "mentions",
    "redact",
    "redact_value",
    "redacted_output",
    "refuse_token_in_url",
    "same_origin",
    "scrub",
    "scrubbed",
]

REDACTED = "[REDACTED]"

ErrorT = TypeVar("ErrorT", bound=BaseException)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _spellings_of(character: str) -> list[str]:
    """How one character of a secret may be written in text that quotes it: as is (any case), escaped
    as repr() and JSON write it, percent-encoded (once or twice: a URL put in another URL's query)."""
    encoded = character.encode("utf-8", "surrogatepass")
    percent = "".join(f"%{byte:02x}" for byte in encoded)
    forms = {
        re.escape(character),
        re.escape(repr(character)[1:-1]),
        re.escape(repr(encoded)[2:-1]),
        re.escape(percent),
        re.escape(percent.replace("%", "%25")),
    }
    if not character.isalnum():
        forms.add(re.escape("\\" + character))  # JSON's \" and \/, repr's \'
    return sorted(forms, key=len, reverse=True)


# Secrets shorter than this are matched only as they are, and as repr() escapes them: in any case
# and encoding, a test's token "t" would match in every word (and in "[REDACTED]" itself).
# connect() refuses API tokens this short, so a real token is always matched in every spelling.
MIN_TOKEN_LENGTH = 8


def _spelled(secret: str) -> str:
    if len(secret) < MIN_TOKEN_LENGTH:
        return "|".join(re.escape(spelling) for spelling in sorted(_exact_spellings(secret), key=len, reverse=True))
    return "".join(f"(?:{'|'.join(_spellings_of(character))})" for character in secret)


def _exact_spellings(secret: str) -> set[str]:
    return {secret, repr(secret)[1:-1], repr(secret.encode("utf-8", "backslashreplace"))[2:-1]}


@functools.lru_cache(maxsize=64)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for every spelling of every secret, case-insensitive (a URL's host is lowercased,
    a percent escape may be either case). `[REDACTED]` comes first: it is kept whole, never
    matched into."""
    alternatives = [
        f"(?-i:{_spelled(secret)})" if len(secret) < MIN_TOKEN_LENGTH else _spelled(secret)
        for secret in sorted({secret for secret in secrets if secret}, key=len, reverse=True)
    ]
    if not alternatives:
        return None
    return re.compile("|".join([re.escape(REDACTED), *alternatives]), re.IGNORECASE)


# The start of an escape, cut after its first characters: "%", "%2", "%25", "%25c", "%c", "\\".
_PARTIAL_ESCAPE = r"%(?:25?[0-9a-f]?|[0-9a-f])?|\\"


@functools.lru_cache(maxsize=64)
def _prefix_pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    """A pattern for a proper start of a secret (in any spelling `redact` removes) at the very end of
    a text: what a writer must hold back until it knows whether the secret follows."""
    alternatives = []
    for secret in sorted({secret for secret in secrets if secret}):
        nested = _PARTIAL_ESCAPE
        for character in reversed(secret[:-1]):
            nested = f"{_PARTIAL_ESCAPE}|(?:{'|'.join(_spellings_of(character))})(?:{nested})?"
        alternatives.append(f"(?:{nested})")
    return re.compile(f"(?:{'|'.join(alternatives)})\\Z", re.IGNORECASE) if alternatives else None


def _key(secrets: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(secret for secret in secrets if secret)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every occurrence of each secret replaced by `[REDACTED]`: in any case, escaped as
    repr() or JSON write it, or percent-encoded. Redact before cutting a text short: a cut secret
    would no longer match."""
    pattern = _pattern(_key(secrets))
    return text if pattern is None else pattern.sub(REDACTED, text)  # `[REDACTED]` itself for itself


def mentions(text: str, secrets: Iterable[str | None]) -> bool:
    """Whether `text` contains one of the secrets (in any spelling `redact` removes)."""
    pattern = _pattern(_key(secrets))
    return pattern is not None and any(match.group() != REDACTED for match in pattern.finditer(text))


def excerpt(text: str, length: int, secrets: Iterable[str | None]) -> str:
    """`text` redacted, then cut to `length` characters (with "…"): never the other way round."""
    text = redact(text, secrets)
    return text if len(text) <= length else text[: length - 1] + "…"


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
        return any(mentions(text, secrets) for text in (str(error), repr(error), *map(str, error.args)))
    except Exception:  # an exception whose str() fails cannot be shown either: drop it
        return True


def _chain(error: BaseException) -> list[BaseException]:
    """`error` and every exception reachable from it: causes, contexts (suppressed or not), and the
    members of exception groups; each once."""
    found: dict[int, BaseException] = {}
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in found:
            continue
        found[id(current)] = current
        pending.extend(linked for linked in (current.__cause__, current.__context__) if linked is not None)
        pending.extend(getattr(current, "exceptions", ()) if isinstance(current, BaseExceptionGroup) else ())
    return list(found.values())


def _redact_in_place(error: BaseException, secrets: tuple[str, ...]) -> None:
    notes = getattr(error, "__notes__", None)
    if isinstance(notes, list):
        error.__notes__ = [redact(note, secrets) if isinstance(note, str) else note for note in notes]
    message = getattr(error, "message", None)
    if isinstance(message, str) and hasattr(error, "detail"):  # an APIError
        error.message = redact(message, secrets)  # type: ignore[attr-defined]
        error.detail = redact_value(error.detail, secrets)
        request_id = getattr(error, "request_id", None)
        if isinstance(request_id, str):
            error.request_id = redact(request_id, secrets)  # type: ignore[attr-defined]
        error.args = (error.message,)  # type: ignore[attr-defined]
        return
    with contextlib.suppress(AttributeError, TypeError):  # a class that forbids it: cut off below when it leaks
        error.args = tuple(redact(arg, secrets) if isinstance(arg, str) else arg for arg in error.args)


def scrub(error: ErrorT, secrets: tuple[str, ...]) -> ErrorT:
    """`error`, with no secret left in it or in any exception chained to it; changed in place.

    Every exception reachable through `__cause__` and `__context__` (suppressed or not: error
    reporters walk both) has its message, arguments and notes redacted, and the SDK's errors
    their `message`, `detail` and `request_id`. An exception that still mentions a secret (its
    `str()` is built from attributes of its own: aiohttp's) is cut off the chain, with everything
    behind it. The last line of defence, where errors leave the SDK: the server may echo the token
    anywhere (an event, a header, a broken chunk line, a timestamp that does not parse).
    """
    if not any(secrets):
        return error
    chain = _chain(error)
    for current in chain:
        _redact_in_place(current, secrets)
    for current in chain:
        if current.__cause__ is not None and _leaks(current.__cause__, secrets):
            current.__cause__ = None
            current.__suppress_context__ = True
        if current.__context__ is not None and _leaks(current.__context__, secrets):
            current.__context__ = None
    return error


@contextlib.contextmanager
def scrubbed(secrets: tuple[str, ...]) -> Iterator[None]:
    """Whatever is raised inside leaves it scrubbed (see `scrub`)."""
    try:
        yield
    except BaseException as error:
        scrub(error, secrets)
        raise


class RedirectRefused(httpx.RequestError):
    """Internal: a redirect to a URL that carries the token, refused before it is resolved or sent."""


def refuse_token_in_url(request: httpx.Request, secrets: tuple[str, ...]) -> None:
    """Raise `RedirectRefused` when `request`'s URL (host, path or query) mentions a secret.

    Called for every request httpx sends, redirects included, before it resolves the host: a
    redirect to `http://<token>.example/` would put the token into a DNS query.
    """
    # Case-folded and percent-decoded (twice) then searched: a URL's spellings of a secret, at a
    # fifth of `mentions`' cost (this runs on every request).
    once = urllib.parse.unquote(str(request.url))
    url = urllib.parse.unquote(once).lower() if "%" in once else once.lower()
    if any(secret.lower() in url for secret in secrets if len(secret) >= MIN_TOKEN_LENGTH):
        raise RedirectRefused("refused to follow a redirect to a URL that carries the API token", request=request)


# Loggers of the HTTP stack whose records can quote what a server sent: httpcore's DEBUG traces
# quote protocol errors ("illegal chunk header: bytearray(b'...')"), httpx's INFO lines the status
# line. A filter applies only to records created on its own logger, so each one is listed.
_LOGGERS = (
    "inference_api",
    "inference_api.batch",
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
    write that could begin a secret (in any spelling `redact` removes) is held back until the next
    write or `release`."""

    def __init__(self, stream: TextIO, secrets: tuple[str, ...]) -> None:
        self._stream = stream
        self._secrets = secrets
        self._prefix = _prefix_pattern(_key(secrets))
        self._held = ""

    def write(self, text: str) -> int:
        written = len(text)
        text = redact(self._held + text, self._secrets)
        start = len(text)
        if self._prefix is not None:
            open_prefix = self._prefix.search(text)
            if open_prefix is not None:
                start = open_prefix.start()
        self._held = text[start:]
        self._stream.write(text[:start])
        return written

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
