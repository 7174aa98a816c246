"""The public names the README documents exist, with their async twins."""

from __future__ import annotations

import inspect

import extensions
from extensions import sse


def test_every_exported_name_exists() -> None:
    missing = [name for name in extensions.__all__ if not hasattr(extensions, name)]
    assert missing == []


def test_calls_have_async_twins_with_the_same_parameters() -> None:
    for name in ("create", "get", "cancel", "run", "wait", "stream", "stream_prediction", "download"):
        sync, twin = getattr(extensions, name), getattr(extensions, f"async_{name}")
        assert list(inspect.signature(sync).parameters) == list(inspect.signature(twin).parameters), name


def test_connect_and_the_sse_surface() -> None:
    assert list(inspect.signature(extensions.connect).parameters)[:2] == ["token", "base_url"]
    assert sse.ServerSentEvent._fields == ("event", "data", "id", "retry")
    assert sse.ServerSentEvent() == ("message", "", "", None)
    assert callable(sse.iter_events) and callable(sse.aiter_events)


def test_http_status_errors_derive_from_api_error_and_carry_the_status() -> None:
    error = extensions.NotFoundError("missing", status_code=404)
    assert isinstance(error, extensions.APIStatusError) and isinstance(error, extensions.APIError)
    assert error.status_code == 404
