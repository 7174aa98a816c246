"""Finding any piece of the token in what a user can see (not a test module).

A piece is 8 consecutive characters of the token, in any case, also after percent-decoding (once
or twice): an excerpt cut through the token, a lowercased host and a percent-encoded query all
count. What an error shows is walked through its whole chain, `__cause__` and `__context__`,
suppressed or not, as error reporters walk it.
"""

from __future__ import annotations

import logging
import traceback
import urllib.parse
from collections.abc import Callable, Iterable

from tests.hostile.harness import TOKEN

PIECE = 8

# How a server may spell the token back: as is, in another case, percent-encoded.
SPELLINGS: dict[str, Callable[[str], str]] = {
    "as is": lambda token: token,
    "upper": str.upper,
    "lower": str.lower,
    "mixed": lambda token: "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(token)),
    "percent-encoded": lambda token: "".join(f"%{byte:02X}" for byte in token.encode()),
    "partly percent-encoded": lambda token: "".join(f"%{ord(c):02x}" if i % 3 == 0 else c for i, c in enumerate(token)),
}


def _pieces(token: str) -> list[str]:
    return [token[start : start + PIECE].lower() for start in range(len(token) - PIECE + 1)]


_TOKEN_PIECES = _pieces(TOKEN)


def leaked(text: str, token: str = TOKEN) -> str | None:
    """The first piece of `token` in `text` (any case, percent-decoded or not), or None."""
    pieces = _TOKEN_PIECES if token == TOKEN else _pieces(token)
    once = urllib.parse.unquote(text)
    forms = {text.lower(), once.lower(), urllib.parse.unquote(once).lower()}
    for piece in pieces:
        for form in forms:
            if piece in form:
                return piece
    return None


def chain(error: BaseException) -> list[BaseException]:
    """`error` and every exception reachable from it through causes and contexts, each once."""
    found: dict[int, BaseException] = {}
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) not in found:
            found[id(current)] = current
            pending.extend(link for link in (current.__cause__, current.__context__) if link is not None)
    return list(found.values())


def shown(error: BaseException) -> str:
    """Everything a user or an error reporter can see of `error`: str, repr, args, notes, the SDK's
    fields (not `StreamError.text` nor `.prediction`: the server's data) of every exception in its
    chain, and the formatted traceback."""
    texts = ["".join(traceback.format_exception(error))]
    for current in chain(error):
        texts += [str(current), repr(current), *map(repr, current.args), *getattr(current, "__notes__", [])]
        texts += [
            repr(getattr(current, name)) for name in ("message", "detail", "request_id") if hasattr(current, name)
        ]
    return "\n".join(texts)


def logged(records: Iterable[logging.LogRecord]) -> str:
    """Every log record as a handler would format it, traceback included."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in records)
