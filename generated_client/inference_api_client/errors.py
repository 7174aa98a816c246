"""Contains shared errors types that can be raised from API functions"""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Self

import httpx

from .client import AuthenticatedClient, Client
from .types import WrongMediaType

# How much of a body an error keeps and shows: enough to recognise an error page.
EXCERPT_BYTES = 1024
_REDACTED = "[REDACTED]"


class UnexpectedStatus(Exception):
    """Raised by api functions when the response status an undocumented status and Client.raise_on_unexpected_status is True

    Also the base of the other errors here: catching it catches every answer the API document
    does not describe. `content` is the start of the body (at most EXCERPT_BYTES), `headers` the
    response's headers, both without the client's token.
    """

    def __init__(
        self,
        status_code: int,
        content: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        secret: str | None = None,
        reason: str | None = None,
    ):
        if secret:
            # Redact before cutting, so that no piece of the token is left at the cut.
            content = content.replace(secret.encode(), _REDACTED.encode())
        self.status_code = status_code
        self.content = content[:EXCERPT_BYTES]
        self.headers: dict[str, str] = {
            name: value.replace(secret, _REDACTED) if secret else value for name, value in (headers or {}).items()
        }
        try:
            phrase = f" {HTTPStatus(status_code).phrase}"
        except ValueError:
            phrase = ""
        excerpt = self.content.decode(errors="replace")
        if len(content) > EXCERPT_BYTES:
            excerpt += f"... ({len(content)} bytes)"
        super().__init__(f"{self._summary(f'{status_code}{phrase}', reason)}\n\nResponse content:\n{excerpt}")

    @staticmethod
    def _summary(status: str, reason: str | None) -> str:
        return f"Unexpected status code: {status}" + (f" ({reason})" if reason else "")

    @classmethod
    def from_response(cls, response: httpx.Response, *, secret: str | None = None, reason: str | None = None) -> Self:
        return cls(response.status_code, response.content, response.headers, secret=secret, reason=reason)


class UnexpectedContent(UnexpectedStatus):
    """A documented status whose body is not what the API document says: not JSON, cut short, of
    another media type or of another shape (raised when Client.raise_on_unexpected_status is True,
    and always by the event-stream functions)."""

    @staticmethod
    def _summary(status: str, reason: str | None) -> str:
        return f"Unexpected content with status code {status}" + (f": {reason}" if reason else "")


class NotAnEventStream(UnexpectedStatus):
    """An event-stream function got a documented answer that is not the stream, such as an error
    body: `parsed` holds it, parsed as the API document describes it."""

    parsed: object = None

    @staticmethod
    def _summary(status: str, reason: str | None) -> str:
        return f"No event stream: status code {status}" + (f" ({reason})" if reason else "")


__all__ = ["EXCERPT_BYTES", "NotAnEventStream", "UnexpectedContent", "UnexpectedStatus"]


# The endpoint modules' handling of an answer the API document does not describe, written once.

# What a body that is not the documented one raises while it is parsed: JSONDecodeError and the
# models' ValueError, KeyError, TypeError and AttributeError on another shape.
NOT_THE_DOCUMENTED_BODY = (ValueError, KeyError, TypeError, AttributeError)


def client_secret(client: AuthenticatedClient | Client) -> str | None:
    """The token an error must not show."""
    return client.token if isinstance(client, AuthenticatedClient) else None


def raise_unexpected(
    client: AuthenticatedClient | Client,
    response: httpx.Response,
    error: type[UnexpectedStatus],
    reason: str | None,
    strict: bool,
) -> None:
    """Raises `error` for `response` when the call is strict or the client says to."""
    # Called outside any except block, so that no chain keeps the body (JSONDecodeError.doc).
    if strict or client.raise_on_unexpected_status:
        raise error.from_response(response, secret=client_secret(client), reason=reason)


def reason_of(exc: Exception) -> str:
    """Why a body is not the documented one: only the exception's type, as its message may quote
    the body (the errors bound and redact that)."""
    return str(exc) if isinstance(exc, WrongMediaType) else f"the body is not the documented one ({type(exc).__name__})"
