"""The public names the README documents exist, with their async twins."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys

import inference_api
from inference_api import sse


def test_every_exported_name_exists() -> None:
    missing = [name for name in inference_api.__all__ if not hasattr(inference_api, name)]
    assert missing == []


def test_calls_have_async_twins_with_the_same_parameters() -> None:
    for name in ("create", "get", "cancel", "run", "wait", "stream", "stream_prediction", "download", "batch"):
        sync, twin = getattr(inference_api, name), getattr(inference_api, f"async_{name}")
        assert list(inspect.signature(sync).parameters) == list(inspect.signature(twin).parameters), name


def test_connect_and_the_sse_surface() -> None:
    assert list(inspect.signature(inference_api.connect).parameters)[:2] == ["token", "base_url"]
    assert sse.ServerSentEvent._fields == ("event", "data", "id", "retry")
    assert sse.ServerSentEvent() == ("message", "", "", None)
    assert callable(sse.iter_events) and callable(sse.aiter_events)


def test_http_status_errors_derive_from_api_error_and_carry_the_status() -> None:
    error = inference_api.NotFoundError("missing", status_code=404)
    assert isinstance(error, inference_api.APIStatusError) and isinstance(error, inference_api.APIError)
    assert error.status_code == 404


def test_the_lazy_names_match_the_imports_mypy_sees() -> None:
    # inference_api/__init__ imports on first use (PEP 562): its runtime table and its TYPE_CHECKING
    # imports must name the same modules, or mypy and the running code would disagree.
    tree = ast.parse(inspect.getsource(inference_api))
    block = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    typed = {
        alias.name: "." * node.level + (node.module or "")
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert typed == inference_api._SOURCES
    assert sorted(typed) == sorted(name for name in inference_api.__all__ if name != "__version__")


def test_importing_inference_api_loads_nothing_until_a_name_is_used() -> None:
    probe = (
        "import sys, inference_api\n"
        "before = [name for name in ('httpx', 'inference_api_client', 'inference_api.calls') if name in sys.modules]\n"
        "inference_api.connect\n"
        "print(before, 'inference_api.connection' in sys.modules, 'httpx' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[] True True"
