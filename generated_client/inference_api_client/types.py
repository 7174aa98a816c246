"""Contains some shared types for properties"""

from collections.abc import Mapping, MutableMapping
from http import HTTPStatus
from typing import IO, BinaryIO, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx
from attrs import define


class Unset:
    def __bool__(self) -> Literal[False]:
        return False


UNSET: Unset = Unset()

# The types that `httpx.Client(files=)` can accept, copied from that library.
FileContent = IO[bytes] | bytes | str
FileTypes = (
    # (filename, file (or bytes), content_type)
    tuple[str | None, FileContent, str | None]
    # (filename, file (or bytes), content_type, headers)
    | tuple[str | None, FileContent, str | None, Mapping[str, str]]
)
RequestFiles = list[tuple[str, FileTypes]]


@define
class File:
    """Contains information for file uploads"""

    payload: BinaryIO
    file_name: str | None = None
    mime_type: str | None = None

    def to_tuple(self) -> FileTypes:
        """Return a tuple representation that httpx will accept for multipart/form-data"""
        return self.file_name, self.payload, self.mime_type


T = TypeVar("T")


@define
class Response(Generic[T]):
    """A response from an endpoint"""

    status_code: HTTPStatus | int
    content: bytes
    headers: MutableMapping[str, str]
    parsed: T | None


def http_status(code: int) -> HTTPStatus | int:
    """`HTTPStatus(code)`, or the code itself when the enum does not know it (520, 499, 561, ...)."""
    try:
        return HTTPStatus(code)
    except ValueError:
        return code


# What percent-encoding does not keep in its segment: empty and dot segments, which URL normalisation
# removes ("/v1/items/.." is "/v1"), and "/", which servers decode back from "%2F" before routing
# (Starlette, and proxies in front). "?", "#" and the rest stay in the segment once encoded.
_NOT_SEGMENTS = frozenset({"", ".", ".."})


def path_segment(name: str, value: object) -> str:
    """`value` as one percent-encoded path segment; a ValueError naming `name` when it would not stay one."""
    text = str(value)
    if text in _NOT_SEGMENTS or "/" in text:
        shown = repr(text) if len(text) <= 40 else repr(text[:40]) + "..."
        raise ValueError(
            f"path parameter {name!r} must be one path segment: not empty, '.' or '..', and without '/'; got {shown}"
        )
    return quote(text, safe="")


class WrongMediaType(ValueError):
    """A body of another media type than the documented one."""


def check_media_type(content_type: str | None, documented: str) -> None:
    """A WrongMediaType unless a Content-Type header names the documented media type."""
    if not media_type_is(content_type, documented):
        raise WrongMediaType(
            f"the body is {content_type.partition(';')[0][:100] if content_type else 'untyped'}, not {documented}"
        )


def media_type_is(content_type: str | None, documented: str) -> bool:
    """Whether a Content-Type header names the documented media type; no header at all is given the benefit."""
    if content_type is None:
        return True
    actual = content_type.partition(";")[0].strip().lower()
    if actual == documented:
        return True
    # A documented JSON body may come as any `+json` type (RFC 6838, 4.2.8), and the other way round.
    return documented.endswith("json") and actual.endswith(("/json", "+json"))


# How much of an answer that is not the awaited event stream is read: more than any error body.
MAX_UNEXPECTED_BODY = 1024 * 1024
# Headers that describe the body as sent, not as read (decoded, and cut to MAX_UNEXPECTED_BODY).
_BODY_FRAMING = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _with_body(response: httpx.Response, body: bytes) -> httpx.Response:
    headers = [(name, value) for name, value in response.headers.multi_items() if name.lower() not in _BODY_FRAMING]
    return httpx.Response(
        response.status_code, headers=headers, content=body[:MAX_UNEXPECTED_BODY], request=response.request
    )


def read_bounded(response: httpx.Response) -> httpx.Response:
    """A streamed response's body, read to MAX_UNEXPECTED_BODY bytes at most, as a read response."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) >= MAX_UNEXPECTED_BODY:
            break
    return _with_body(response, bytes(body))


async def aread_bounded(response: httpx.Response) -> httpx.Response:
    """`read_bounded` for an async response."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= MAX_UNEXPECTED_BODY:
            break
    return _with_body(response, bytes(body))


__all__ = ["UNSET", "File", "FileTypes", "RequestFiles", "Response", "Unset"]
