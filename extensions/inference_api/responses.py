"""The HTTP responses behind the calls: status, headers, request id and body, next to the parsed result.

    with capture_responses() as responses:
        prediction = create(client, VERSION, {"prompt": "Hi"})
    print(responses.last.status_code, responses.last.request_id, responses.last.headers["x-ratelimit-remaining"])

Every call (create, get, cancel, run, stream, wait, download, sync and async) keeps its return
type; inside the block, each response it receives is recorded, retried ones included, so
`last` is the one the call ended on. One form for every call: the calls are functions of the
client, so a view of the client could not change what they return. Errors carry theirs as
`APIError.response`. The token is taken out of all of it (URL, headers, body).

A `with` block works in async code as well: the capture follows the context (a context variable),
into the tasks the calls start.
"""

from __future__ import annotations

import collections
import contextvars
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import httpx

from ._security import mentions, redact

__all__ = ["RawResponse", "ResponseCapture", "capture_responses"]

# A long wait polls hundreds of times: the capture keeps the most recent responses only.
MAX_CAPTURED = 1_000
# What an error keeps of its body: enough for any error document, not a whole page of HTML.
MAX_ERROR_BODY = 64 * 1024


@attrs.frozen
class RawResponse:
    """One HTTP response as received (the token taken out).

    `content` is the body for calls that read it whole (create, get, cancel, run, errors) and
    None for streamed ones (stream, download), whose body the call consumed as it arrived.
    """

    method: str
    url: str
    status_code: int
    reason_phrase: str
    http_version: str
    headers: httpx.Headers
    content: bytes | None
    elapsed: float | None  # seconds from sending the request to reading the headers, when known

    @property
    def request_id(self) -> str | None:
        """The server's id for this request (`X-Request-Id`), to quote when reporting a problem."""
        request_id: str | None = self.headers.get("x-request-id")
        return request_id

    @property
    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced); "" when it was streamed."""
        return "" if self.content is None else self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (`ValueError` when it is not JSON or was streamed)."""
        if self.content is None:
            raise ValueError("this response's body was streamed, not kept")
        return json.loads(self.content)

    @classmethod
    def from_httpx(cls, response: httpx.Response, secrets: tuple[str, ...], max_body: int | None = None) -> RawResponse:
        """A copy of `response` with the secrets taken out (then its body cut to `max_body` bytes);
        its body only if it has been read."""
        content = response.content if _read(response) else None
        if content is not None and secrets:
            text = content.decode("utf-8", errors="surrogateescape")
            if mentions(text, secrets):
                content = redact(text, secrets).encode("utf-8", errors="surrogateescape")
        if content is not None and max_body is not None:
            content = content[:max_body]
        headers = httpx.Headers([(name, redact(value, secrets)) for name, value in response.headers.items()])
        try:
            elapsed: float | None = response.elapsed.total_seconds()
        except RuntimeError:  # a streamed response not yet closed: httpx knows the time only at the end
            elapsed = None
        request = response.request
        return cls(
            method=request.method,
            url=redact(str(request.url), secrets),
            status_code=response.status_code,
            reason_phrase=redact(response.reason_phrase, secrets),
            http_version=response.http_version,
            headers=headers,
            content=content,
            elapsed=elapsed,
        )


def _read(response: httpx.Response) -> bool:
    """Whether `response`'s body is in memory (read whole), as opposed to streamed or unread."""
    try:
        response.content  # noqa: B018 (raises ResponseNotRead when it was not read)
    except httpx.ResponseNotRead:
        return False
    return True


class ResponseCapture:
    """The responses received inside a `capture_responses()` block, oldest first."""

    def __init__(self) -> None:
        self._responses: collections.deque[RawResponse] = collections.deque(maxlen=MAX_CAPTURED)

    @property
    def responses(self) -> list[RawResponse]:
        """Every response received (the latest `MAX_CAPTURED`), retried attempts and polls included."""
        return list(self._responses)

    @property
    def last(self) -> RawResponse:
        """The latest response: the one the last call ended on. `LookupError` when there is none."""
        if not self._responses:
            raise LookupError("no response was received inside this capture_responses() block")
        return self._responses[-1]

    def record(self, response: RawResponse) -> None:
        self._responses.append(response)

    def __len__(self) -> int:
        return len(self._responses)

    def __repr__(self) -> str:
        return f"<ResponseCapture: {len(self._responses)} responses>"


_capture: contextvars.ContextVar[ResponseCapture | None] = contextvars.ContextVar("inference_api_capture", default=None)


@contextmanager
def capture_responses() -> Iterator[ResponseCapture]:
    """Record the HTTP responses of the calls made inside the block (see the module's docstring)."""
    capture = ResponseCapture()
    token = _capture.set(capture)
    try:
        yield capture
    finally:
        _capture.reset(token)


def record(response: httpx.Response, secrets: tuple[str, ...]) -> RawResponse | None:
    """Record `response` in the capture in force, if any (one context variable lookup otherwise)."""
    capture = _capture.get()
    if capture is None:
        return None
    raw = RawResponse.from_httpx(response, secrets)
    capture.record(raw)
    return raw
