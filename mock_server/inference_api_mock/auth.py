"""Bearer-token authentication (pure).

Tokens are compared in constant time (`hmac.compare_digest`) against every configured token, with
no early exit, so that timing says nothing about which token, or which prefix, was close. A
prediction belongs to the fingerprint of the token that created it; the token itself is never
stored beyond the checker, logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

MISSING_TOKEN = "Missing token: send the header `Authorization: Bearer <token>`."  # noqa: S105 - a message
INVALID_TOKEN = "Invalid token."  # noqa: S105 - a message, not a password


def random_token() -> str:
    return secrets.token_urlsafe(24)


class TokenChecker:
    """Knows the valid tokens; answers with the caller's owner fingerprint, or why not."""

    __slots__ = ("_tokens",)

    def __init__(self, tokens: Iterable[str]) -> None:
        self._tokens = tuple(token.encode() for token in tokens)
        if not self._tokens:
            raise ValueError("at least one token is needed")
        if any(not token or token != token.strip() or b" " in token for token in self._tokens):
            raise ValueError("a token must be non-empty and contain no spaces")

    def __repr__(self) -> str:
        return f"TokenChecker(<{len(self._tokens)} tokens>)"

    def owner(self, authorization: str | None) -> tuple[str | None, str]:
        """(owner fingerprint, "") for a valid `Authorization` header, else (None, error detail)."""
        if not authorization:
            return None, MISSING_TOKEN
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return None, MISSING_TOKEN
        given = credentials.strip().encode("latin-1", errors="replace")
        matched = None
        for token in self._tokens:
            if hmac.compare_digest(given, token):
                matched = token
        if matched is None:
            return None, INVALID_TOKEN
        return hashlib.sha256(matched).hexdigest(), ""
