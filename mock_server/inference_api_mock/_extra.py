"""What to say when the mock server's dependencies are missing (stdlib only: it runs before them).

The mock server needs the `server` extra (starlette, uvicorn, jsonschema, PyYAML) and the SDK's own
dependencies (anyio, attrs, httpx). Whichever of them, or of theirs, is missing, the cure is the same
install line, so any missing module that is not part of this package gets it.
"""

from __future__ import annotations

from typing import NoReturn

INSTALL = 'pip install "inference-api[server]"'
PACKAGE = __name__.partition(".")[0]


def missing_dependency(error: ModuleNotFoundError) -> str | None:
    """The top-level name of the missing module when it is a dependency, None when it is our own."""
    name = (error.name or "").partition(".")[0]
    return name if name and name != PACKAGE else None


def message(missing: str, needed_by: str) -> str:
    """One line naming the missing module and the install command."""
    return f"{needed_by}: {missing} is not installed; the mock server needs the `server` extra: {INSTALL}"


def raise_for_server_extra(error: ModuleNotFoundError, needed_by: str) -> NoReturn:
    """Re-raise `error` as one line naming the extra (a bug of ours, a missing module of this package, as is)."""
    missing = missing_dependency(error)
    if missing is None:
        raise error
    raise ModuleNotFoundError(message(missing, needed_by), name=missing) from None
